package io.postino.server.metrics;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A strict reader of Prometheus' text exposition format 0.0.4, as the Prometheus server parses it,
 * plus Postino's own rule that no name contains {@code :}. It throws {@link IllegalArgumentException}
 * with the line number on the first thing a scrape would reject or that breaks the format's rules:
 * a bad name, label or value, a second HELP or TYPE for one name, a TYPE after its samples, a
 * family whose samples are not together, a series written twice, a histogram whose buckets are
 * not cumulative or lack {@code +Inf}, a negative counter.
 */
public final class PrometheusText {
    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern POSTINO_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    public record Sample(String name, Map<String, String> labels, double value) {
    }

    public static final class Family {
        public final String name;
        public String type = "untyped";
        public String help;
        boolean typed;
        public final List<Sample> samples = new ArrayList<>();

        Family(String name) {
            this.name = name;
        }
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    private PrometheusText() {
    }

    public static PrometheusText parse(String text) {
        PrometheusText parsed = new PrometheusText();
        parsed.read(text);
        return parsed;
    }

    public Map<String, Family> families() {
        return Collections.unmodifiableMap(families);
    }

    /** Every sample name (with {@code _bucket}, {@code _sum}, {@code _count}, {@code _total}), as PromQL sees them. */
    public Set<String> sampleNames() {
        Set<String> names = new TreeSet<>();
        families.values().forEach(family -> family.samples.forEach(sample -> names.add(sample.name())));
        return names;
    }

    public List<Sample> samples(String name) {
        List<Sample> found = new ArrayList<>();
        families.values().forEach(family -> family.samples.stream().filter(sample -> sample.name().equals(name)).forEach(found::add));
        return found;
    }

    /** The value of the one series with exactly these labels, or null. */
    public Double value(String name, Map<String, String> labels) {
        return samples(name).stream().filter(sample -> sample.labels().equals(labels)).map(Sample::value).findFirst().orElse(null);
    }

    private void read(String text) {
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("the exposition does not end with a line feed");
        }
        Family current = null;
        Set<String> closed = new HashSet<>();
        Set<String> series = new HashSet<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int number = i + 1;
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] parts = line.split("[ \t]+", 4);
                if (parts.length >= 3 && (parts[1].equals("HELP") || parts[1].equals("TYPE"))) {
                    String name = parts[2];
                    check(METRIC_NAME.matcher(name).matches(), number, "bad metric name '" + name + "'");
                    Family family = families.get(name);
                    if (family == null) {
                        check(!closed.contains(name), number, name + " starts again after other families");
                        family = new Family(name);
                        families.put(name, family);
                    }
                    if (current != null && current != family) {
                        closed.add(current.name);
                    }
                    check(!closed.contains(name), number, name + " starts again after other families");
                    current = family;
                    if (parts[1].equals("HELP")) {
                        check(family.help == null, number, "second HELP for " + name);
                        family.help = parts.length > 3 ? unescapeHelp(parts[3], number) : "";
                    } else {
                        check(parts.length == 4 && TYPES.contains(parts[3]), number, "bad TYPE line '" + line + "'");
                        check(family.samples.isEmpty(), number, "TYPE of " + name + " after its samples");
                        check(family.type.equals("untyped") && !family.typed, number, "second TYPE for " + name);
                        family.type = parts[3];
                        family.typed = true;
                    }
                }
                continue;
            }
            Sample sample = sample(line, number);
            String familyName = familyOf(sample.name());
            Family family = families.get(familyName);
            if (family == null) {
                check(!closed.contains(familyName), number, familyName + " starts again after other families");
                family = new Family(familyName);
                families.put(familyName, family);
            }
            if (current != null && current != family) {
                closed.add(current.name);
            }
            check(!closed.contains(familyName), number, "the samples of " + familyName + " are not together");
            current = family;
            check(series.add(sample.name() + new java.util.TreeMap<>(sample.labels())), number, "series written twice: " + line);
            if (family.type.equals("counter")) {
                check(sample.value() >= 0, number, "negative counter: " + line);
            }
            family.samples.add(sample);
        }
        families.values().forEach(PrometheusText::checkHistogram);
    }

    /** The family a sample belongs to: a histogram's or summary's {@code _bucket}/{@code _sum}/{@code _count} go to its base name. */
    private String familyOf(String sampleName) {
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            if (sampleName.endsWith(suffix)) {
                Family base = families.get(sampleName.substring(0, sampleName.length() - suffix.length()));
                if (base != null && (base.type.equals("histogram") || (base.type.equals("summary") && !suffix.equals("_bucket")))) {
                    return base.name;
                }
            }
        }
        return sampleName;
    }

    private static void checkHistogram(Family family) {
        if (!family.type.equals("histogram")) {
            return;
        }
        Map<Map<String, String>, List<Sample>> bySeries = new LinkedHashMap<>();
        for (Sample sample : family.samples) {
            if (sample.name().equals(family.name + "_bucket")) {
                if (!sample.labels().containsKey("le")) {
                    throw new IllegalArgumentException(family.name + ": a bucket without le");
                }
                Map<String, String> others = new LinkedHashMap<>(sample.labels());
                others.remove("le");
                bySeries.computeIfAbsent(others, any -> new ArrayList<>()).add(sample);
            }
        }
        bySeries.forEach((labels, buckets) -> {
            double previousLe = Double.NEGATIVE_INFINITY;
            double previousCount = 0;
            for (Sample bucket : buckets) {
                double le = number(bucket.labels().get("le"), 0);
                if (le <= previousLe || bucket.value() < previousCount) {
                    throw new IllegalArgumentException(family.name + labels + ": buckets not in order or not cumulative");
                }
                previousLe = le;
                previousCount = bucket.value();
            }
            if (previousLe != Double.POSITIVE_INFINITY) {
                throw new IllegalArgumentException(family.name + labels + ": no +Inf bucket");
            }
            Double count = family.samples.stream().filter(sample -> sample.name().equals(family.name + "_count") && sample.labels().equals(labels))
                .map(Sample::value).findFirst().orElse(null);
            if (count == null || count != previousCount) {
                throw new IllegalArgumentException(family.name + labels + ": _count " + count + " is not the +Inf bucket " + previousCount);
            }
        });
    }

    private static Sample sample(String line, int number) {
        int at = 0;
        while (at < line.length() && (Character.isLetterOrDigit(line.charAt(at)) || line.charAt(at) == '_' || line.charAt(at) == ':')) {
            at++;
        }
        String name = line.substring(0, at);
        check(METRIC_NAME.matcher(name).matches(), number, "bad metric name in '" + line + "'");
        check(POSTINO_NAME.matcher(name).matches(), number, "name with ':' (or not [a-zA-Z_][a-zA-Z0-9_]*): " + name);
        Map<String, String> labels = new LinkedHashMap<>();
        if (at < line.length() && line.charAt(at) == '{') {
            at++;
            while (true) {
                if (line.charAt(at) == '}') {
                    at++;
                    break;
                }
                int start = at;
                while (at < line.length() && line.charAt(at) != '=') {
                    at++;
                }
                String label = line.substring(start, at);
                check(LABEL_NAME.matcher(label).matches() && !label.startsWith("__"), number, "bad label name '" + label + "' in '" + line + "'");
                check(at + 1 < line.length() && line.charAt(at + 1) == '"', number, "label value not quoted in '" + line + "'");
                at += 2;
                StringBuilder value = new StringBuilder();
                while (true) {
                    check(at < line.length(), number, "unterminated label value in '" + line + "'");
                    char c = line.charAt(at++);
                    if (c == '"') {
                        break;
                    }
                    if (c == '\\') {
                        check(at < line.length(), number, "bad escape in '" + line + "'");
                        char escaped = line.charAt(at++);
                        check(escaped == '\\' || escaped == '"' || escaped == 'n', number, "bad escape \\" + escaped + " in '" + line + "'");
                        value.append(escaped == 'n' ? '\n' : escaped);
                    } else {
                        value.append(c);
                    }
                }
                check(labels.put(label, value.toString()) == null, number, "label " + label + " twice in '" + line + "'");
                check(at < line.length(), number, "unterminated labels in '" + line + "'");
                if (line.charAt(at) == ',') {
                    at++;
                } else {
                    check(line.charAt(at) == '}', number, "expected , or } in '" + line + "'");
                }
            }
        }
        check(at < line.length() && (line.charAt(at) == ' ' || line.charAt(at) == '\t'), number, "no value in '" + line + "'");
        String[] rest = line.substring(at).trim().split("[ \t]+");
        check(rest.length == 1 || rest.length == 2, number, "more than a value and a timestamp in '" + line + "'");
        double value = number(rest[0], number);
        if (rest.length == 2) {
            try {
                Long.parseLong(rest[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("line " + number + ": bad timestamp in '" + line + "'");
            }
        }
        return new Sample(name, labels, value);
    }

    private static double number(String text, int line) {
        switch (text) {
            case "+Inf":
            case "Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            case "NaN":
                return Double.NaN;
            default:
                check(text.matches("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?"), line, "bad number '" + text + "'");
                return Double.parseDouble(text);
        }
    }

    private static String unescapeHelp(String text, int line) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\') {
                check(i + 1 < text.length(), line, "bad escape at the end of HELP");
                char escaped = text.charAt(++i);
                check(escaped == '\\' || escaped == 'n', line, "bad escape \\" + escaped + " in HELP");
                out.append(escaped == 'n' ? '\n' : escaped);
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static void check(boolean condition, int line, String problem) {
        if (!condition) {
            throw new IllegalArgumentException("line " + line + ": " + problem);
        }
    }
}
