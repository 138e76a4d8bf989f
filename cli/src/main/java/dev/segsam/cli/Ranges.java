package dev.segsam.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Range checks of numeric options, done before any work: a value outside the range is a usage error naming the option
 * and the range (exit code 2), never an allocation that ends in an {@code OutOfMemoryError}. The ranges are documented
 * in docs/LIMITS.md.
 */
public final class Ranges {
    private Ranges() {}

    /** {@code value} of option {@code name} must lie in {@code lo..hi}. */
    public static void check(CommandSpec spec, String name, long value, long lo, long hi) {
        if (value < lo || value > hi) {
            throw new CommandLine.ParameterException(spec.commandLine(), name + " must be in " + lo + ".." + hi + ", got " + value);
        }
    }

    /** {@code value} of option {@code name} must be a finite number in {@code (lo, hi]} ({@code loExclusive}) or {@code [lo, hi]}. */
    public static void check(CommandSpec spec, String name, double value, double lo, boolean loExclusive, double hi) {
        if (!Double.isFinite(value) || value < lo || (loExclusive && value == lo) || value > hi) {
            throw new CommandLine.ParameterException(spec.commandLine(), name + " must be a number in " + (loExclusive ? "(" : "[") + lo + ", " + hi + "], got " + value);
        }
    }
}
