package dev.scythe.cli;

import java.io.PrintStream;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code scythe completion}: picocli's bash completion script for every command and option. */
@Command(name = "completion", customSynopsis = "scythe completion",
        description = {"Prints a bash (and zsh) completion script for scythe's commands and options.", "",
            "Try it in this shell with: source <(scythe completion); or keep it in a file that your shell reads, "
                    + "such as /etc/bash_completion.d/scythe."})
final class CompletionCommand extends Subcommand {
    @Spec
    private CommandSpec spec;

    CompletionCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        // Not println: a script with another line separator would fail in strange ways.
        out.print(AutoComplete.bash("scythe", spec.root().commandLine()) + "\n");
        out.flush();
        return 0;
    }
}
