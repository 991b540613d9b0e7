package io.postino.server.trace;

/**
 * One line of a trace: where ({@code smtp}, {@code mailet}), what ran (a hook, or a processor's
 * matcher and mailet), what it decided ({@code pass}, {@code accept}, {@code refuse}, {@code match},
 * {@code no match}, {@code would run}, {@code not evaluated} ...) and why.
 */
public record TraceStep(String stage, String name, String decision, String detail) {
}
