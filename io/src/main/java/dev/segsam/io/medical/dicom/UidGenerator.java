package dev.segsam.io.medical.dicom;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * New DICOM UIDs in the {@code 2.25.<UUID as an unsigned decimal integer>} form (PS3.5 §B.2), which needs no
 * registered root: {@link #random()} from random (version 4) UUIDs, {@link #seeded(String)} from name-based (version 3)
 * UUIDs of a seed and a counter, so tests and reference files get the same UIDs on every run.
 */
public final class UidGenerator {
    /** segsam's Implementation Class UID (file meta (0002,0012)): the 2.25 form of the name-based UUID of "dev.segsam". */
    public static final String IMPLEMENTATION_CLASS_UID = fromUuid(UUID.nameUUIDFromBytes("dev.segsam".getBytes(StandardCharsets.US_ASCII)));

    private final String seed;
    private long counter;

    private UidGenerator(String seed) {
        this.seed = seed;
    }

    public static UidGenerator random() {
        return new UidGenerator(null);
    }

    public static UidGenerator seeded(String seed) {
        if (seed == null) throw new IllegalArgumentException("seed");
        return new UidGenerator(seed);
    }

    public synchronized String next() {
        if (seed == null) return fromUuid(UUID.randomUUID());
        return fromUuid(UUID.nameUUIDFromBytes((seed + "/" + counter++).getBytes(StandardCharsets.UTF_8)));
    }

    /** {@code 2.25.} and the UUID's 128 bits as an unsigned decimal (at most 39 digits: 44 characters, within UI's 64). */
    static String fromUuid(UUID u) {
        BigInteger hi = new BigInteger(Long.toUnsignedString(u.getMostSignificantBits()));
        BigInteger lo = new BigInteger(Long.toUnsignedString(u.getLeastSignificantBits()));
        return "2.25." + hi.shiftLeft(64).or(lo);
    }
}
