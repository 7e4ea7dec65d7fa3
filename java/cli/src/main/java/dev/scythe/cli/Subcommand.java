package dev.scythe.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import java.util.concurrent.Callable;
import picocli.CommandLine.IParameterPreprocessor;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One subcommand. picocli reads its options from its annotations, builds its help from them (synopsis, what it does,
 * options with their real defaults, exit statuses) and calls it with the options set; it writes to the CLI's streams.
 */
abstract class Subcommand implements Callable<Integer> {
    /** The help's paragraph on durations, for commands that take one. */
    static final String DURATIONS = "%nDurations: " + Durations.GRAMMAR + ".";

    final PrintStream out, err;

    Subcommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** The bytes of a command given after the options (its words as parsed; see {@link Arg}). */
    static List<byte[]> bytes(List<String> words) {
        return words.stream().map(Arg::bytes).toList();
    }

    /** The preprocessor of flags: {@code --json=yes} is refused, naming the flag. */
    static final class Flag implements IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec command, ArgSpec option, Map<String, Object> info) {
            if (!" ".equals(info.get("separator"))) { // attached: --json=yes
                String name = ((OptionSpec) option).longestName();
                throw new UsageException(name + " takes no value, got '" + name + "=" + args.peek() + "'");
            }
            return false;
        }
    }
}
