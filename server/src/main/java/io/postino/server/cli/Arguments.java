package io.postino.server.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The command line of {@code postinoctl}, read once: words (the command, its subcommand and
 * their operands) and options, {@code --name value} or {@code --name=value}, anywhere on the
 * line; {@code --} ends the options. Which options a command takes is checked by the command
 * ({@link #allowOnly}), so that a misspelt or misplaced option is refused rather than ignored.
 */
final class Arguments {
    /** Options that take a value; every other {@code --name} is a flag. */
    static final Set<String> WITH_VALUE = Set.of(
        "url", "token-file", "conf", "organisation", "domain", "route", "queue", "sender", "recipient", "name",
        "selector", "algorithm", "bits", "limit", "from", "to", "user", "client", "port", "helo");
    /** Options that may be given more than once ({@code trace --to A --to B}). */
    static final Set<String> REPEATABLE = Set.of("to");
    static final Set<String> FLAGS = Set.of("json", "help", "all", "delayed", "show-secrets");
    /** Taken by every command that talks to the server. */
    static final Set<String> CONNECTION = Set.of("url", "token-file", "json", "help");

    /** The command line is wrong: the message says how, {@code --help} says what is right. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    private final List<String> words;
    private final Map<String, String> options;
    private final Set<String> flags;
    private final Map<String, List<String>> repeated;

    private Arguments(List<String> words, Map<String, String> options, Set<String> flags, Map<String, List<String>> repeated) {
        this.words = Collections.unmodifiableList(words);
        this.options = Collections.unmodifiableMap(options);
        this.flags = Collections.unmodifiableSet(flags);
        this.repeated = Collections.unmodifiableMap(repeated);
    }

    static Arguments parse(List<String> arguments) throws UsageException {
        List<String> words = new ArrayList<>();
        Map<String, String> options = new LinkedHashMap<>();
        Set<String> flags = new LinkedHashSet<>();
        Map<String, List<String>> repeated = new LinkedHashMap<>();
        boolean optionsEnded = false;
        for (int i = 0; i < arguments.size(); i++) {
            String argument = arguments.get(i);
            if (optionsEnded || !argument.startsWith("-") || argument.equals("-")) {
                words.add(argument);
                continue;
            }
            if (argument.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (argument.equals("-h")) {
                flags.add("help");
                continue;
            }
            if (!argument.startsWith("--")) {
                throw new UsageException("unknown option '" + argument + "' (options are spelt --name)");
            }
            int equals = argument.indexOf('=');
            String name = argument.substring(2, equals < 0 ? argument.length() : equals);
            if (WITH_VALUE.contains(name)) {
                String value;
                if (equals >= 0) {
                    value = argument.substring(equals + 1);
                } else if (i + 1 < arguments.size()) {
                    value = arguments.get(++i);
                } else {
                    throw new UsageException("--" + name + " needs a value");
                }
                if (value.isEmpty()) {
                    throw new UsageException("--" + name + " needs a value");
                }
                if (options.putIfAbsent(name, value) != null && !REPEATABLE.contains(name)) {
                    throw new UsageException("--" + name + " is given twice");
                }
                repeated.computeIfAbsent(name, any -> new ArrayList<>()).add(value);
            } else if (FLAGS.contains(name)) {
                if (equals >= 0) {
                    throw new UsageException("--" + name + " takes no value");
                }
                flags.add(name);
            } else {
                throw new UsageException("unknown option --" + name);
            }
        }
        return new Arguments(words, options, flags, repeated);
    }

    List<String> words() {
        return words;
    }

    /** The word at {@code index}, or empty. */
    Optional<String> word(int index) {
        return index < words.size() ? Optional.of(words.get(index)) : Optional.empty();
    }

    Optional<String> option(String name) {
        return Optional.ofNullable(options.get(name));
    }

    /** Every value of an option, in command-line order ({@link #REPEATABLE} ones may have several). */
    List<String> options(String name) {
        return repeated.getOrDefault(name, List.of());
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    /** Refuses any option not in {@code allowed}, naming the command that does not take it. */
    void allowOnly(String command, Set<String> allowed) throws UsageException {
        for (String name : options.keySet()) {
            if (!allowed.contains(name)) {
                throw new UsageException(command + " does not take --" + name);
            }
        }
        for (String name : flags) {
            if (!allowed.contains(name)) {
                throw new UsageException(command + " does not take --" + name);
            }
        }
    }

    /** Requires exactly {@code count} operands after the command's own {@code commandWords}, named in {@code what}. */
    List<String> operands(String command, int commandWords, String... what) throws UsageException {
        List<String> operands = words.subList(Math.min(commandWords, words.size()), words.size());
        if (operands.size() < what.length) {
            throw new UsageException(command + " needs " + String.join(" ", what));
        }
        if (operands.size() > what.length) {
            throw new UsageException(command + ": unexpected '" + operands.get(what.length) + "'");
        }
        return operands;
    }

    static Set<String> union(Set<String> first, String... more) {
        Set<String> all = new LinkedHashSet<>(first);
        all.addAll(List.of(more));
        return all;
    }
}
