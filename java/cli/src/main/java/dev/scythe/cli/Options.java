package dev.scythe.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One command's options: declared once with their help, parsed with one set of rules, and printed as that
 * command's {@code --help}. Options come before the command; {@code --} or the first argument that is not an option
 * ends them. {@code --name value} and {@code --name=value} are the same.
 */
final class Options {
    private enum Arity { FLAG, VALUE, OPTIONAL_VALUE }

    private record Option(String name, String label, Arity arity, String help, Consumer<Arg> action) {}

    private final String command;
    private final Map<String, Option> options = new LinkedHashMap<>();
    private final List<String> sections = new ArrayList<>(); // help lines: options and headings, in order

    Options(String command) {
        this.command = command;
    }

    Options heading(String text) {
        sections.add("\n" + text);
        return this;
    }

    Options flag(String name, String help, Runnable action) {
        return add(new Option(name, null, Arity.FLAG, help, a -> action.run()));
    }

    Options value(String name, String label, String help, Consumer<Arg> action) {
        return add(new Option(name, label, Arity.VALUE, help, action));
    }

    /** An option whose value is optional: it takes the next argument unless that starts with "--". */
    Options optionalValue(String name, String label, String help, Consumer<Arg> action) {
        return add(new Option(name, label, Arity.OPTIONAL_VALUE, help, action));
    }

    private Options add(Option o) {
        options.put(o.name(), o);
        sections.add("\0" + o.name());
        return this;
    }

    /**
     * Applies the options at the start of {@code args} and returns what follows them (the command). Flags given
     * twice are harmless; a value given twice takes the last one, as coreutils does.
     */
    List<Arg> parse(List<Arg> args) {
        int i = 0;
        while (i < args.size()) {
            String a = args.get(i).text();
            if (a.equals("--")) {
                return args.subList(i + 1, args.size());
            }
            if (!a.startsWith("-") || a.equals("-")) {
                return args.subList(i, args.size());
            }
            if (a.equals("-h") || a.equals("--help")) {
                throw new HelpRequested();
            }
            int eq = a.indexOf('=');
            String name = eq > 0 ? a.substring(0, eq) : a;
            Option o = options.get(name);
            if (o == null) {
                throw new UsageException("unknown option '" + name + "' for " + command);
            }
            i++;
            Arg value = null;
            if (eq > 0) {
                if (o.arity() == Arity.FLAG) {
                    throw new UsageException(name + " takes no value, got '" + a + "'");
                }
                byte[] all = args.get(i - 1).bytes();
                int cut = name.length() + 1;
                value = new Arg(a.substring(eq + 1), java.util.Arrays.copyOfRange(all, Math.min(cut, all.length),
                        all.length));
            } else if (o.arity() == Arity.VALUE) {
                if (i >= args.size()) {
                    throw new UsageException(name + " needs a value: " + name + " " + o.label());
                }
                value = args.get(i++);
            } else if (o.arity() == Arity.OPTIONAL_VALUE && i < args.size() && !args.get(i).text().startsWith("--")) {
                value = args.get(i++);
            }
            o.action().accept(value);
        }
        return List.of();
    }

    /** The option lines of the help text. */
    String help() {
        StringBuilder b = new StringBuilder();
        for (String s : sections) {
            if (!s.startsWith("\0")) {
                b.append(s).append('\n');
                continue;
            }
            Option o = options.get(s.substring(1));
            String head = "  " + o.name() + (o.label() == null ? ""
                    : o.arity() == Arity.OPTIONAL_VALUE ? " [" + o.label() + "]" : " " + o.label());
            String[] lines = o.help().split("\n");
            if (head.length() <= 24) {
                b.append(String.format("%-24s", head)).append(lines[0]).append('\n');
            } else {
                b.append(head).append('\n').append(" ".repeat(24)).append(lines[0]).append('\n');
            }
            for (int k = 1; k < lines.length; k++) {
                b.append(" ".repeat(24)).append(lines[k]).append('\n');
            }
        }
        return b.toString();
    }

    /** Thrown by parse for -h and --help. */
    static final class HelpRequested extends RuntimeException {
        HelpRequested() {
            super(null, null, false, false);
        }
    }
}
