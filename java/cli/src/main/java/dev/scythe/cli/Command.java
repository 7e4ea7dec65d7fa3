package dev.scythe.cli;

import java.io.PrintStream;
import java.util.List;

/** One subcommand: its help (synopsis, what it does, options, exit statuses) and how it runs. */
abstract class Command {
    private final String synopsis, about;

    Command(String synopsis, String about) {
        this.synopsis = synopsis;
        this.about = about;
    }

    /** Its options, bound to this instance's settings. */
    abstract Options options();

    /** The exit statuses it gives, as a help section. */
    abstract String statuses();

    /** Parses {@code args}, runs, and returns the exit status. */
    abstract int run(List<Arg> args, PrintStream out, PrintStream err);

    /** The whole help text. */
    final String help() {
        return "Usage: " + synopsis + "\n\n" + about + "\n\nOptions:\n" + options().help() + "\nDurations: "
                + Durations.GRAMMAR.replace(" (bare", "\n  (bare") + ".\n\n" + statuses();
    }
}
