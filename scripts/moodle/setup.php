<?php
// Prepares a freshly installed Moodle for lms-shop, exactly as the README tells an administrator
// to do it by hand: web services and REST on, a service holding the shop's functions, a user with
// a role that has just the capabilities those functions check, and a permanent token.
// Also creates the courses the tests sell. Prints the token on stdout, nothing else.
//
// Usage: php setup.php --courses="SHORT|Full name|visible(1/0),..."  (run with Moodle's dirroot as cwd)

define('CLI_SCRIPT', true);
require(getcwd() . '/config.php');
require_once($CFG->libdir . '/clilib.php');
require_once($CFG->dirroot . '/webservice/lib.php');
require_once($CFG->dirroot . '/course/lib.php');
require_once($CFG->dirroot . '/user/lib.php');

[$options] = cli_get_params(['courses' => '']);

// Keep this list in step with src/lms/moodle (REQUIRED_FUNCTIONS) and the README.
$functions = [
    'core_webservice_get_site_info',
    'core_user_get_users_by_field',
    'core_user_create_users',
    'core_course_get_courses',
    'core_course_get_categories',
    'enrol_manual_enrol_users',
    'enrol_manual_unenrol_users',
    'core_enrol_get_enrolled_users',
    'core_group_get_course_groups',
    'core_group_create_groups',
    'core_group_add_group_members',
    'core_group_delete_group_members',
];
// What those functions check (services.php declarations plus what their code requires:
// validate_context on a course the user is not enrolled in, participants, role assignment).
$capabilities = [
    'webservice/rest:use',
    'moodle/user:viewdetails', 'moodle/user:viewhiddendetails', 'moodle/course:useremail',
    'moodle/user:update', 'moodle/user:create',
    // Without it Moodle leaves the email out of user records, and a search by email finds nobody.
    'moodle/site:viewuseridentity',
    // core_course_get_courses returns visible/idnumber only to who may update the course.
    'moodle/course:view', 'moodle/course:update', 'moodle/course:viewhiddencourses',
    'moodle/category:viewhiddencategories',
    'enrol/manual:enrol', 'enrol/manual:unenrol', 'moodle/role:assign',
    'moodle/course:managegroups', 'moodle/course:viewparticipants', 'moodle/site:accessallgroups',
    'moodle/course:viewhiddenuserfields',
];

\core\session\manager::set_user(get_admin());
$system = context_system::instance();

set_config('enablewebservices', 1);
set_config('webserviceprotocols', 'rest');
// Learners created by the shop get Moodle's own password mail: there is no mail server here.
set_config('noemailever', 1);

$user = $DB->get_record('user', ['username' => 'lmsshop']);
if (!$user) {
    $id = user_create_user((object) [
        'username' => 'lmsshop', 'auth' => 'manual', 'password' => 'Unused-' . random_string(24),
        'firstname' => 'lms-shop', 'lastname' => 'web service', 'email' => 'lmsshop@example.invalid',
        'confirmed' => 1, 'mnethostid' => $CFG->mnet_localhost_id,
    ]);
    $user = $DB->get_record('user', ['id' => $id]);
}

$roleid = $DB->get_field('role', 'id', ['shortname' => 'lmsshop']);
if (!$roleid) {
    $roleid = create_role('lms-shop web service', 'lmsshop', 'What the lms-shop external service needs.');
}
set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
foreach ($capabilities as $cap) {
    assign_capability($cap, CAP_ALLOW, $roleid, $system->id, true);
}
foreach (['student', 'teacher', 'editingteacher'] as $target) {
    $targetid = $DB->get_field('role', 'id', ['shortname' => $target], MUST_EXIST);
    if (!$DB->record_exists('role_allow_assign', ['roleid' => $roleid, 'allowassign' => $targetid])) {
        core_role_set_assign_allowed($roleid, $targetid);
    }
}
role_assign($roleid, $user->id, $system->id);
accesslib_clear_all_caches(true);

$ws = new webservice();
$service = $ws->get_external_service_by_shortname('lmsshop');
if (!$service) {
    $serviceid = $ws->add_external_service((object) [
        'name' => 'lms-shop', 'shortname' => 'lmsshop', 'enabled' => 1,
        'restrictedusers' => 1, 'downloadfiles' => 0, 'uploadfiles' => 0,
    ]);
    $service = $ws->get_external_service_by_id($serviceid);
}
foreach ($functions as $f) {
    if (!$ws->service_function_exists($f, $service->id)) {
        $ws->add_external_function_to_service($f, $service->id);
    }
}
if (!$ws->get_ws_authorised_user($service->id, $user->id)) {
    $ws->add_ws_authorised_user((object) ['externalserviceid' => $service->id, 'userid' => $user->id]);
}

$category = $DB->get_record('course_categories', ['idnumber' => 'lmsshop']);
if (!$category) {
    $category = core_course_category::create(['name' => 'Shop courses', 'idnumber' => 'lmsshop']);
}
foreach (array_filter(explode(',', $options['courses'])) as $spec) {
    [$short, $full, $visible] = array_pad(explode('|', $spec), 3, '1');
    if (!$DB->record_exists('course', ['shortname' => $short])) {
        create_course((object) [
            'shortname' => $short, 'fullname' => $full, 'category' => $category->id,
            'visible' => (int) $visible, 'groupmode' => SEPARATEGROUPS,
        ]);
    }
}

$token = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $user->id, $system, 0, '', 'lms-shop');
echo $token, "\n";
