package dev.scythe.cli;

/** An error in Scythe's own command line: exit status 125 and a message that names the option. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
