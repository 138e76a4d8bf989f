package dev.segsam.kernels;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Device memory with explicit lifetime and reuse: a caching allocator by size class, so that a long run (1000 predict
 * calls) settles at a fixed set of blocks instead of calling {@code cuMemAlloc}/{@code cuMemFree} per tensor.
 *
 * <ul>
 *   <li>Sizes are rounded up to a class: 512 B minimum, then four classes per power of two ({@code p·5/4, p·6/4,
 *       p·7/4, 2p}), so a block wastes less than 25 %.</li>
 *   <li>{@link #release} puts a block on its class's free list; {@link #alloc} takes from there first. Reuse is safe
 *       without synchronisation because every kernel runs in the one stream: work on the new owner is queued after
 *       all work of the old one.</li>
 *   <li>When the device is full, the cached blocks are freed and the allocation is retried once. Cached bytes above
 *       the pool's limit ({@code Options.cudaPoolCacheMiB}, property {@code segsam.cuda.poolCacheMiB}; default: unlimited)
 *       are freed at once instead of kept.</li>
 *   <li>{@code poison}: every allocation is filled with NaN before use (tests: an element a kernel forgets to write
 *       shows up as NaN instead of a stale, possibly correct, value).</li>
 * </ul>
 */
public final class DevicePool {
    /** A NaN bit pattern that no arithmetic produces (all mantissa bits set). */
    static final int POISON = 0x7fffffff;

    /** One device allocation: its address and class size. */
    record Block(long address, long size) {}

    /** Byte counts: {@code inUse} held by live tensors, {@code cached} on free lists, {@code reserved} = both. */
    public record Stats(long inUseBytes, long cachedBytes, long reservedBytes, long peakInUseBytes, long driverAllocations,
                        long reuses) {
        @Override
        public String toString() {
            return String.format("in use %.1f MiB (peak %.1f), cached %.1f MiB, %d cuMemAlloc calls, %d reuses",
                    inUseBytes / 1048576.0, peakInUseBytes / 1048576.0, cachedBytes / 1048576.0, driverAllocations, reuses);
        }
    }

    private final Gpu gpu;
    private final boolean exact;
    private final long maxCached;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long inUse, cached, peak, driverAllocations, reuses;
    volatile boolean poison;

    /**
     * @param exact     no size classes and no caching: each block is exactly as large as asked and freed on release (the
     *                  emulator uses this so that guard pages sit right behind every tensor)
     * @param maxCached most bytes kept on the free lists ({@code Options.cudaPoolCacheMiB}; {@code Long.MAX_VALUE}: no limit)
     */
    DevicePool(Gpu gpu, boolean exact, long maxCached) {
        if (maxCached < 0) throw new IllegalArgumentException("pool cache limit " + maxCached);
        this.gpu = gpu;
        this.exact = exact;
        this.maxCached = maxCached;
    }

    /** A pool without a cache limit. */
    DevicePool(Gpu gpu, boolean exact) {
        this(gpu, exact, Long.MAX_VALUE);
    }

    /** The class size for a request of {@code bytes}. */
    static long sizeClass(long bytes) {
        if (bytes <= 512) return 512;
        long p = Long.highestOneBit(bytes - 1); // p < bytes <= 2p
        long step = p / 4;
        return (bytes + step - 1) / step * step;
    }

    Block alloc(long bytes) {
        long size = exact ? Math.max(bytes, 4) : sizeClass(bytes);
        Block b;
        synchronized (this) {
            ArrayDeque<Long> list = free.get(size);
            Long addr = list == null ? null : list.poll();
            if (addr != null) {
                cached -= size;
                reuses++;
                b = new Block(addr, size);
            } else {
                b = new Block(mallocOrTrim(size), size);
                driverAllocations++;
            }
            inUse += size;
            peak = Math.max(peak, inUse);
        }
        if (poison) gpu.memset32(b.address(), POISON, (bytes + 3) / 4);
        return b;
    }

    private long mallocOrTrim(long size) {
        gpu.enterThread();
        try {
            return gpu.malloc(size);
        } catch (CudaOpException.OutOfDeviceMemory e) {
            long before = cached;
            trimLocked();
            try {
                return gpu.malloc(size);
            } catch (CudaOpException.OutOfDeviceMemory again) {
                throw new CudaOpException.OutOfDeviceMemory(again.getMessage() + " (pool: " + (inUse >> 20) + " MiB in use, "
                        + (before >> 20) + " MiB cached blocks freed before retrying)", again);
            }
        }
    }

    /** Returns a block for reuse (or frees it: exact mode, or the cache is full). Safe from any thread. */
    synchronized void release(Block b) {
        inUse -= b.size();
        if (exact || cached + b.size() > maxCached) {
            gpu.enterThread();
            gpu.free(b.address());
            return;
        }
        free.computeIfAbsent(b.size(), k -> new ArrayDeque<>()).push(b.address());
        cached += b.size();
    }

    /** Frees every cached block (blocks held by live tensors stay). */
    synchronized void trim() {
        trimLocked();
    }

    private void trimLocked() {
        gpu.enterThread();
        List<Long> all = new ArrayList<>();
        for (ArrayDeque<Long> list : free.values()) all.addAll(list);
        free.clear();
        cached = 0;
        for (long a : all) gpu.free(a);
    }

    synchronized Stats stats() {
        return new Stats(inUse, cached, inUse + cached, peak, driverAllocations, reuses);
    }

    /** Restarts the peak counter at the current use (tests measure the peak of one op). */
    synchronized void resetPeak() {
        peak = inUse;
    }
}
