package dev.segsam.tensor;

import java.util.Locale;

/**
 * Where tensors live and ops run. {@link #AUTO} means "CUDA when a usable GPU and the CUDA backend are present,
 * otherwise CPU" and is resolved once by {@link Backends#select(Device)}.
 */
public enum Device {
    CPU, CUDA, AUTO;

    /** Parses {@code cpu}, {@code cuda} or {@code auto} (case-insensitive), with a one-line error otherwise. */
    public static Device parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown device '" + s + "': expected cpu, cuda or auto");
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
