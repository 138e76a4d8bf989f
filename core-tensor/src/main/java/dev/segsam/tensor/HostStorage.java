package dev.segsam.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Host (CPU) memory for tensors: a {@link MemorySegment} that is either
 * <ul>
 *   <li><b>owned</b>: allocated off-heap, 64-byte aligned. {@link #close()} releases it immediately; if it is never
 *       closed, a {@link Cleaner} releases it once the storage is unreachable, so forgetting to close costs memory for
 *       a while but never leaks it for good;</li>
 *   <li><b>borrowed</b>: a segment whose lifetime belongs to someone else, e.g. a memory-mapped weights file
 *       (zero-copy). {@link #close()} does nothing; the owner's arena decides.</li>
 * </ul>
 *
 * <p><b>Recycling.</b> Released owned blocks go to a small pool, keyed by byte size, and the next allocation of that
 * size reuses one (zero-filled again for {@link #allocate}; as is for {@link #allocateUninitialized}). Measured on
 * the development VM, a fresh 50 MB block (an encoder MLP activation) costs ~22 ms to map, fault in and zero — malloc
 * serves blocks above 32 MB with fresh mmaps every time — and every owned block costs ~30 µs to free, the shared
 * arena's thread handshake; a recycled block costs neither. The pool holds at most {@code segsam.tensor.pool.mb} MiB
 * (default 256; 0 turns recycling off); blocks released beyond that are freed. A closed storage refuses
 * {@link #segment()} (IllegalStateException), exactly as a freed one did. A segment obtained before the close still
 * reaches the block, which may by then belong to another tensor: {@link Tensor} guards against that (its lifetime
 * checks, and in debug mode segments that die with the tensor; see {@link Tensor}).
 */
public final class HostStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final MemorySegment segment;
    private final Cleaner.Cleanable cleanable; // null when borrowed
    private volatile boolean closed;

    private HostStorage(MemorySegment segment, Block block) {
        this.segment = segment;
        // The cleaning action references only the block, never this storage, or it would keep it reachable.
        this.cleanable = block == null ? null : CLEANER.register(this, new Release(block));
    }

    /** Allocates {@code bytes} zero-filled bytes, owned by the new storage. */
    public static HostStorage allocate(long bytes) {
        return owned(bytes, true);
    }

    /**
     * Allocates {@code bytes} bytes whose values are unspecified (possibly a recycled block's old contents), owned by
     * the new storage: for outputs that are overwritten completely.
     */
    public static HostStorage allocateUninitialized(long bytes) {
        return owned(bytes, false);
    }

    private static HostStorage owned(long bytes, boolean zero) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation: " + bytes);
        Block b = Pool.take(bytes);
        if (b == null) b = Block.allocate(bytes); // fresh memory from an arena is zero-filled
        else if (zero) b.segment().fill((byte) 0);
        return new HostStorage(b.segment(), b);
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
     * is released by the cleaner, after which its block may serve another allocation.
     *
     * @throws IllegalStateException once the storage is closed
     */
    public MemorySegment segment() {
        if (closed) throw new IllegalStateException("the tensor's memory was already closed");
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

    /** Releases owned memory (to the pool); a second close of owned memory is an error. No-op when borrowed. */
    @Override
    public void close() {
        if (cleanable != null) {
            if (closed) throw new IllegalStateException("host storage of " + segment.byteSize() + " bytes closed twice");
            closed = true;
            cleanable.clean();
        }
    }

    /** An owned block: its own shared arena (freeing = closing it) and the segment of exactly the requested size. */
    private record Block(Arena arena, MemorySegment segment) {
        static Block allocate(long bytes) {
            Arena arena = Arena.ofShared();
            try {
                return new Block(arena, arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes));
            } catch (OutOfMemoryError | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    private record Release(Block block) implements Runnable {
        @Override
        public void run() {
            Pool.give(block);
        }
    }

    /** The recycling pool (see the class comment). */
    private static final class Pool {
        static final long CAPACITY = Math.max(0, Long.getLong("segsam.tensor.pool.mb", 256)) << 20;
        private static final Map<Long, ArrayDeque<Block>> FREE = new HashMap<>();
        private static long held;

        static synchronized Block take(long bytes) {
            ArrayDeque<Block> q = FREE.get(bytes);
            Block b = q == null ? null : q.poll();
            if (b != null) held -= bytes;
            return b;
        }

        static void give(Block b) {
            long bytes = b.segment().byteSize();
            synchronized (Pool.class) {
                if (held + bytes <= CAPACITY) {
                    FREE.computeIfAbsent(bytes, k -> new ArrayDeque<>()).push(b);
                    held += bytes;
                    return;
                }
            }
            b.arena().close();
        }
    }
}
