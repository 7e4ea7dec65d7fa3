package dev.scythe.cli;

import dev.scythe.Outcome;
import dev.scythe.Scythe;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code scythe} command line. Its output does not depend on the locale: text and JSON are UTF-8, a job's
 * output is echoed byte for byte, and a command's arguments reach it byte for byte (docs/cli.md).
 */
public final class Main {
    static final String USAGE = """
            Usage: scythe COMMAND [OPTIONS] [--] ...

            Commands:
              run        run one command, supervised (exit statuses as coreutils timeout)
              race       race commands on one goal: the first success wins, the others are killed at once
              deepen     progressive deepening: on a stall, halve the depth and resume
              evaluate   the main job: every prover, the portfolio and the virtual best over a corpus
              version    the library version and the kernel features it found
              help [COMMAND]   this text, or a command's help (also: scythe COMMAND --help)

            Durations: %s.
            Sizes: a whole number of bytes, or with a binary unit k, M, G or T (512M, 2G).
            Exit statuses of every command, and the JSON they print: docs/cli.md.
            """.formatted(Durations.GRAMMAR);

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

    /** Runs the CLI with these arguments (as text; each taken as its UTF-8 bytes) and returns its exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(List.of(args).stream().map(Arg::of).toList(), out, err);
    }

    static int run(List<Arg> args, PrintStream out, PrintStream err) {
        String name = args.isEmpty() ? "help" : args.get(0).text();
        List<Arg> rest = args.isEmpty() ? List.of() : args.subList(1, args.size());
        if (name.equals("help") || name.equals("--help") || name.equals("-h")) {
            if (rest.isEmpty()) {
                (args.isEmpty() ? err : out).print(USAGE);
                return args.isEmpty() ? Outcome.STATUS_SCYTHE_FAILED : 0;
            }
            name = rest.get(0).text();
            rest = List.of(Arg.of("--help"));
        }
        if (name.equals("--version")) {
            name = "version";
        }
        if (name.equals("version")) {
            return version(rest, out, err);
        }
        Command command = command(name);
        if (command == null) {
            return usage(err, null, "unknown command '" + name + "'");
        }
        try {
            return command.run(rest, out, err);
        } catch (Options.HelpRequested h) {
            out.print(command.help());
            return 0;
        } catch (UsageException | IllegalArgumentException e) {
            // IllegalArgumentException: a builder of the library refused a combination; its message names it.
            return usage(err, name, e.getMessage());
        } catch (UnsatisfiedLinkError e) {
            err.println("scythe: the native library could not be loaded: " + e.getMessage());
            return Outcome.STATUS_SCYTHE_FAILED;
        } catch (RuntimeException | LinkageError e) {
            err.println("scythe: internal error (" + e.getClass().getSimpleName() + "); please report it with the "
                    + "command line that caused it");
            return Outcome.STATUS_SCYTHE_FAILED;
        }
    }

    /** A new instance of the named command, or null. */
    static Command command(String name) {
        return switch (name) {
            case "run" -> new RunCommand();
            case "race" -> new RaceCommand();
            case "deepen" -> new DeepenCommand();
            case "evaluate" -> new EvaluateCommand();
            default -> null;
        };
    }

    private static int usage(PrintStream err, String command, String problem) {
        err.println("scythe" + (command == null ? "" : " " + command) + ": " + problem);
        err.println("Try 'scythe " + (command == null ? "help" : command + " --help") + "'.");
        return Outcome.STATUS_SCYTHE_FAILED;
    }

    private static int version(List<Arg> rest, PrintStream out, PrintStream err) {
        if (!rest.isEmpty()) {
            if (rest.get(0).text().equals("--help") || rest.get(0).text().equals("-h")) {
                out.print("Usage: scythe version\n\nPrints the library version and the kernel features it found.\n");
                return 0;
            }
            return usage(err, "version", "version takes no arguments");
        }
        if (!Scythe.isAvailable()) {
            err.println("scythe: native library unavailable: " + Scythe.unavailabilityCause());
            return Outcome.STATUS_SCYTHE_FAILED;
        }
        out.println("scythe " + Scythe.version() + " (capabilities: " + String.join(", ", Scythe.capabilities()) + ")");
        return 0;
    }
}
