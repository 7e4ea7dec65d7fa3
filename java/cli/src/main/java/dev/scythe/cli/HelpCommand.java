package dev.scythe.cli;

import java.io.PrintStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code scythe help [COMMAND]}: the same text as {@code scythe --help} or {@code scythe COMMAND --help}. */
@Command(name = "help", helpCommand = true, customSynopsis = "scythe help [COMMAND]",
        description = "Prints this text, or a command's help (also: scythe COMMAND --help).")
final class HelpCommand extends Subcommand {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "COMMAND", arity = "0..1", description = "the command whose help to print")
    private String command;

    HelpCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        CommandLine root = spec.root().commandLine();
        CommandLine about = command == null ? root : root.getSubcommands().get(command);
        if (about == null) {
            throw new UsageException("unknown command '" + command + "'");
        }
        about.usage(root.getOut());
        return 0;
    }
}
