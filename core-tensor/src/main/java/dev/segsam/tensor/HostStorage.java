package dev.segsam.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;

/**
 * Host (CPU) memory for tensors: a {@link MemorySegment} that is either
 * <ul>
 *   <li><b>owned</b>: allocated off-heap in its own shared {@link Arena}, 64-byte aligned and zero-filled. {@link #close()}
 *       frees it immediately; if it is never closed, a {@link Cleaner} frees it once the storage is unreachable, so
 *       forgetting to close costs memory for a while but never leaks it for good;</li>
 *   <li><b>borrowed</b>: a segment whose lifetime belongs to someone else, e.g. a memory-mapped weights file
 *       (zero-copy). {@link #close()} does nothing; the owner's arena decides.</li>
 * </ul>
 */
public final class HostStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final MemorySegment segment;
    private final Cleaner.Cleanable cleanable; // null when borrowed

    private HostStorage(MemorySegment segment, Arena ownArena) {
        this.segment = segment;
        // The cleaning action references only the arena, never this storage, or it would keep it reachable.
        this.cleanable = ownArena == null ? null : CLEANER.register(this, new ArenaCloser(ownArena));
    }

    /** Allocates {@code bytes} zero-filled bytes, owned by the new storage. */
    public static HostStorage allocate(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation: " + bytes);
        Arena arena = Arena.ofShared();
        MemorySegment seg;
        try {
            seg = arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
        } catch (OutOfMemoryError | RuntimeException e) {
            arena.close();
            throw e;
        }
        return new HostStorage(seg, arena);
    }

    /** Allocates in a caller-owned arena: the memory lives exactly as long as that arena. */
    public static HostStorage allocate(Arena arena, long bytes) {
        return new HostStorage(arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes), null);
    }

    /** Wraps memory owned by someone else (e.g. a mapped file); {@link #close()} will not free it. */
    public static HostStorage borrow(MemorySegment segment) {
        return new HostStorage(segment, null);
    }

    /**
     * The bytes. Keep the storage (or a tensor on it) reachable while using the segment: an unreachable owned storage
     * is freed by the cleaner, after which the segment throws {@link IllegalStateException} on access.
     */
    public MemorySegment segment() {
        return segment;
    }

    public boolean owned() {
        return cleanable != null;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        if (cleanable != null) cleanable.clean(); // runs the closer at most once
    }

    private record ArenaCloser(Arena arena) implements Runnable {
        @Override
        public void run() {
            arena.close();
        }
    }
}
