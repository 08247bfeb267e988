<?php
// Stands in for a learner reading Moodle's password mail (there is no mail server here) and
// choosing their own password at first login: sets it and clears Moodle's forced change.
//
// Usage: scripts/moodle.sh php scripts/moodle/learner-password.php --email=E --password=P
define('CLI_SCRIPT', true);
require(getcwd() . '/config.php');
require_once($CFG->libdir . '/clilib.php');

[$options] = cli_get_params(['email' => '', 'password' => '']);
$user = $DB->get_record('user', ['email' => $options['email'], 'deleted' => 0], '*', MUST_EXIST);
update_internal_user_password($user, $options['password']);
unset_user_preference('auth_forcepasswordchange', $user);
echo $user->username, "\n";
