#!/usr/bin/perl
# Times commands from inside the current network namespace, alternating them.
#
# Usage: ipvs_time.pl ROUNDS STDIN 'CMD A ARGS' ['CMD B ARGS' ...]
#   ROUNDS  how many times each command runs; in every round the commands run
#           one after the other in the order given, so a slow moment of the
#           machine falls on all of them alike.
#   STDIN   a file given to every run as standard input, or - for /dev/null.
#   CMD     a command line split on blanks (no shell: nothing else is timed).
#
# Each run is timed with CLOCK_MONOTONIC from just before fork to just after
# waitpid, its stdout going to /dev/null; so a figure is the tool's own
# process (exec, dynamic linking, its work, exit) and nothing of the caller
# such as entering the namespace with `ip netns exec`, which is the same for
# every tool and costs about 90 ms in the VM. A run that fails stops the script.
#
# Output: "round R: SECS SECS ..." per round, then for each command
# "best SECS median SECS: CMD" (median of an even count: the mean of the two
# middle figures). Seconds with 4 decimals.
use strict;
use warnings;
use POSIX ();
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my ($rounds, $stdin, @cmds) = @ARGV;
die "usage: $0 ROUNDS STDIN 'CMD ARGS' ...\n"
  unless defined $rounds && $rounds =~ /^[1-9][0-9]*$/ && defined $stdin && @cmds;
$stdin = '/dev/null' if $stdin eq '-';
my @argv = map { [ split ' ', $_ ] } @cmds;

sub run_once {
    my ($args) = @_;
    my $t0  = clock_gettime(CLOCK_MONOTONIC);
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open(STDIN,  '<', $stdin)      or POSIX::_exit(126);
        open(STDOUT, '>', '/dev/null') or POSIX::_exit(126);
        { exec { $args->[0] } @$args; }
        POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $t1 = clock_gettime(CLOCK_MONOTONIC);
    die "`@$args` failed (wait status $?)\n" if $? != 0;
    return $t1 - $t0;
}

my @times = map { [] } @argv;
for my $r (1 .. $rounds) {
    my @row;
    for my $i (0 .. $#argv) {
        my $t = run_once($argv[$i]);
        push @{ $times[$i] }, $t;
        push @row, sprintf('%.4f', $t);
    }
    print "round $r: @row\n";
}
for my $i (0 .. $#argv) {
    my @s = sort { $a <=> $b } @{ $times[$i] };
    my $n = @s;
    my $median = $n % 2 ? $s[ $n / 2 ] : ($s[ $n / 2 - 1 ] + $s[ $n / 2 ]) / 2;
    printf "best %.4f median %.4f: %s\n", $s[0], $median, $cmds[$i];
}
