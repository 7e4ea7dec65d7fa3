package dev.scythe.cli;

import dev.scythe.Outcome;
import dev.scythe.Scythe;
import java.io.PrintStream;
import picocli.CommandLine.Command;

/** {@code scythe version} (also {@code scythe --version}). */
@Command(name = "version", customSynopsis = "scythe version",
        description = "Prints the library version and the kernel features it found.",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:printed", "125:the native library could not be loaded"})
final class VersionCommand extends Subcommand {
    VersionCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        if (!Scythe.isAvailable()) {
            err.println("scythe: native library unavailable: " + Scythe.unavailabilityCause());
            return Outcome.STATUS_SCYTHE_FAILED;
        }
        out.println("scythe " + Scythe.version() + " (capabilities: " + String.join(", ", Scythe.capabilities()) + ")");
        return 0;
    }
}
