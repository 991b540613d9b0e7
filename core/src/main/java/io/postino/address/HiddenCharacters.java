package io.postino.address;

import java.util.OptionalInt;

/**
 * Characters that have no place in an address or a login because a reader cannot see them or
 * they change how the text around them reads: controls (C0, DEL and C1, such as U+0085 NEL),
 * format characters (bidi overrides and isolates such as U+202E, zero-width spaces, the BOM,
 * soft hyphens, tags) and the line and paragraph separators U+2028/U+2029. {@code jörg@x} and
 * {@code gröj@x} written with a right-to-left override look alike; a NEL ends a log line in some
 * viewers. ZERO WIDTH (NON-)JOINER stay allowed: scripts and emoji sequences need them.
 */
public final class HiddenCharacters {
    private static final int ZWNJ = 0x200C;
    private static final int ZWJ = 0x200D;

    private HiddenCharacters() {
    }

    /** The first such character of {@code text}, as a code point. */
    public static OptionalInt first(CharSequence text) {
        return text.codePoints().filter(HiddenCharacters::isHidden).findFirst();
    }

    static boolean isHidden(int codePoint) {
        return switch (Character.getType(codePoint)) {
            case Character.CONTROL, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SURROGATE -> true;
            case Character.FORMAT -> codePoint != ZWNJ && codePoint != ZWJ;
            default -> false;
        };
    }

    /** {@code U+202E}, as the refusal names it. */
    public static String name(int codePoint) {
        return String.format("U+%04X", codePoint);
    }
}
