package dev.scythe.cli;

import dev.scythe.Outcome;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code scythe} command line, parsed by picocli. Its output does not depend on the locale: text and JSON are
 * UTF-8, a job's output is echoed byte for byte, and a command's arguments reach it byte for byte (docs/cli.md).
 * Every error in scythe's own command line exits 125 with one line that names what was wrong.
 */
public final class Main {
    /** The width of help texts. */
    static final int WIDTH = 100;

    private Main() {}

    public static void main(String[] args) {
        // UTF-8 and unbuffered-per-line whatever the locale: LANG unset (cron, systemd, env -i) must not turn text
        // into question marks.
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int status = run(Arg.ofMain(args), out, err);
        out.flush();
        err.flush();
        System.exit(status);
    }

    /**
     * Runs the CLI with these arguments and returns its exit status. Each argument stands for its UTF-8 bytes, except
     * that U+DC80 to U+DCFF stand for single bytes (see {@link Arg}).
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            CommandLine cli = commandLine(out, err, args.length > 0 ? args[0] : null);
            int status = cli.execute(args);
            cli.getOut().flush();
            cli.getErr().flush();
            return status;
        } catch (UnsatisfiedLinkError e) {
            err.println("scythe: the native library could not be loaded: " + e.getMessage());
            return Outcome.STATUS_SCYTHE_FAILED;
        } catch (RuntimeException | LinkageError e) {
            return internalError(err, e);
        }
    }

    /** The subcommands, in the order of the help, by name. */
    private static final List<Map.Entry<String, BiFunction<PrintStream, PrintStream, Subcommand>>> COMMANDS = List.of(
            Map.entry("run", RunCommand::new), Map.entry("race", RaceCommand::new), Map.entry("pool", PoolCommand::new),
            Map.entry("deepen", DeepenCommand::new), Map.entry("evaluate", EvaluateCommand::new),
            Map.entry("compare", CompareCommand::new), Map.entry("member", MemberCommand::new),
            Map.entry("version", VersionCommand::new), Map.entry("help", HelpCommand::new),
            Map.entry("completion", CompletionCommand::new));

    /** The whole command line, as the help and the completion script see it. */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        return commandLine(out, err, null);
    }

    /**
     * The command line: the root command, its subcommands, the parser's rules and the error handlers. Given the first
     * argument, and it names a command that does not list the others (all but help and completion), the root gets
     * that command only: picocli reads every command's annotations when it is added, and that was half of a
     * {@code scythe run}'s start-up (docs/decisions/0024).
     */
    static CommandLine commandLine(PrintStream out, PrintStream err, String first) {
        CommandLine cli = new CommandLine(new Root(out, err));
        boolean one = first != null && !first.equals("help") && !first.equals("completion")
                && COMMANDS.stream().anyMatch(c -> c.getKey().equals(first));
        for (var c : COMMANDS) {
            if (!one || c.getKey().equals(first)) {
                cli.addSubcommand(c.getValue().apply(out, err));
            }
        }
        // Options come before the command; "--" or the first argument that is not an option ends them. A value given
        // twice takes the last one, as coreutils does. "@file" is an argument like any other.
        cli.setStopAtPositional(true).setOverwrittenOptionsAllowed(true)
                .setExpandAtFiles(false)
                .setColorScheme(Help.defaultColorScheme(Help.Ansi.OFF)).setUsageHelpWidth(WIDTH)
                .setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true))
                .setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true))
                .setParameterExceptionHandler((e, args) -> e.getCause() == null
                        || e.getCause() instanceof UsageException || e.getCause() instanceof TypeConversionException
                        ? usageError(e.getCommandLine(), problem(e)) : internalError(err, e.getCause()))
                .setExecutionExceptionHandler((e, command, result) -> switch (e) {
                    // IllegalArgumentException: a builder of the library refused a combination; its message names it.
                    case UsageException u -> usageError(command, u.getMessage());
                    case IllegalArgumentException i -> usageError(command, i.getMessage());
                    default -> internalError(err, e);
                });
        // evaluate and compare run no command of the user's: their options may follow their arguments
        for (String free : List.of("evaluate", "compare")) {
            if (cli.getSubcommands().containsKey(free)) {
                cli.getSubcommands().get(free).setStopAtPositional(false);
            }
        }
        headings(cli);
        return cli;
    }

    /** The same section headings in every command's help. */
    private static void headings(CommandLine command) {
        UsageMessageSpec help = command.getCommandSpec().usageMessage();
        help.descriptionHeading("%n").parameterListHeading("%nParameters:%n").optionListHeading("%nOptions:%n")
                .commandListHeading("%nCommands:%n").sortOptions(false);
        command.getSubcommands().values().forEach(Main::headings);
    }

    /** The one line that says what was wrong with scythe's own command line. */
    static String problem(ParameterException e) {
        Throwable cause = e.getCause();
        if (cause instanceof UsageException) {
            return cause.getMessage();
        }
        if (cause instanceof TypeConversionException && e.getArgSpec() instanceof OptionSpec o) {
            return o.longestName() + ": " + cause.getMessage();
        }
        if (e instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            CommandSpec command = u.getCommandLine().getCommandSpec();
            if (command.parent() == null) {
                return "unknown command '" + arg + "'";
            }
            if (arg.startsWith("-") && arg.length() > 1) {
                return "unknown option '" + arg.split("=", 2)[0] + "' for " + command.name();
            }
            return command.name() + " takes no arguments; unexpected '" + arg + "'";
        }
        if (e instanceof MissingParameterException m && m.getMissing().get(0) instanceof OptionSpec o) {
            return o.longestName() + " needs a value: " + o.longestName() + " " + o.paramLabel();
        }
        return e.getMessage();
    }

    /** Prints the problem and where to look, and returns 125. */
    private static int usageError(CommandLine command, String problem) {
        CommandSpec spec = command.getCommandSpec();
        String name = spec.parent() == null || spec.helpCommand() ? null : spec.name();
        PrintWriter err = command.getErr();
        err.println("scythe" + (name == null ? "" : " " + name) + ": " + Arg.display(problem));
        err.println("Try 'scythe " + (name == null ? "help" : name + " --help") + "'.");
        err.flush();
        return Outcome.STATUS_SCYTHE_FAILED;
    }

    private static int internalError(PrintStream err, Throwable e) {
        err.println("scythe: internal error (" + e.getClass().getSimpleName() + "); please report it with the "
                + "command line that caused it");
        return Outcome.STATUS_SCYTHE_FAILED;
    }

    /** {@code scythe} itself: its commands, and {@code -h}, which every command inherits. */
    @Command(name = "scythe", customSynopsis = "scythe COMMAND [OPTIONS] [--] ...",
            description = "Process supervisor for proof farms. Every command has its own help: scythe run --help, "
                    + "scythe help race.",
            footer = {Subcommand.DURATIONS,
                "Sizes: a whole number of bytes, or with a binary unit k, M, G or T (512M, 2G).",
                "Exit statuses of every command, and the JSON they print: docs/cli.md."})
    static final class Root extends Subcommand {
        @Spec
        private CommandSpec spec;

        @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT,
                description = "print this help and exit")
        private boolean help;

        @Option(names = "--version", arity = "0", description = "print the version, as scythe version does")
        private boolean version;

        Root(PrintStream out, PrintStream err) {
            super(out, err);
        }

        /** No command: the version if asked for, else the help on stderr and status 125. */
        @Override
        public Integer call() {
            if (version) {
                return new VersionCommand(out, err).call();
            }
            spec.commandLine().usage(spec.commandLine().getErr());
            return Outcome.STATUS_SCYTHE_FAILED;
        }
    }
}
