package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pool's bookkeeping on a fake device (no GPU needed): size classes, reuse, trimming, out-of-memory retry, poison. */
class DevicePoolTest {
    /** A device that hands out fake addresses and can be told how much memory it has. */
    static final class FakeGpu implements Gpu {
        long capacity = Long.MAX_VALUE, used, next = 1 << 20, mallocs, frees, memsets;
        final java.util.Map<Long, Long> live = new java.util.HashMap<>();
        final List<Long> sizes = new ArrayList<>();

        @Override public String description() { return "fake"; }
        @Override public int multiprocessors() { return 1; }
        @Override public void enterThread() {}

        @Override
        public long malloc(long bytes) {
            if (used + bytes > capacity) throw new CudaOpException.OutOfDeviceMemory("fake OOM", null);
            used += bytes;
            mallocs++;
            sizes.add(bytes);
            long a = next;
            next += bytes + 256;
            live.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            Long bytes = live.remove(address);
            assertTrue(bytes != null, "double or foreign free");
            used -= bytes;
            frees++;
        }

        @Override public void memset32(long address, int value, long count) { memsets++; }
        @Override public void copyToDevice(long dst, MemorySegment src, long bytes) {}
        @Override public void copyToHost(MemorySegment dst, long src, long bytes) {}
        @Override public Object function(Kernel kernel) { return kernel; }
        @Override public void launch(Object f, Kernel k, int gx, int gy, int gz, int bx, int by, int smem, Object[] args) {}
        @Override public void synchronize() {}
    }

    @Test
    void sizeClassesWasteLessThanAQuarter() {
        assertEquals(512, DevicePool.sizeClass(1));
        assertEquals(512, DevicePool.sizeClass(512));
        assertEquals(640, DevicePool.sizeClass(513));
        assertEquals(1024, DevicePool.sizeClass(1024));
        for (long b = 1; b < 1L << 36; b = b * 3 / 2 + 7) {
            long c = DevicePool.sizeClass(b);
            assertTrue(c >= b && (b <= 512 || c < b * 1.25 + 1), b + " → " + c);
            assertEquals(c, DevicePool.sizeClass(c), "a class size is its own class");
        }
    }

    @Test
    void releasedBlocksAreReusedBySizeClass() {
        FakeGpu gpu = new FakeGpu();
        DevicePool pool = new DevicePool(gpu, false);
        for (int round = 0; round < 1000; round++) {
            List<DevicePool.Block> bs = new ArrayList<>();
            for (long bytes : new long[] {100, 4000, 4000, 1 << 20, (1 << 20) + 1, 12345}) bs.add(pool.alloc(bytes));
            bs.forEach(pool::release);
        }
        assertEquals(6, gpu.mallocs, "one device allocation per distinct concurrent block");
        DevicePool.Stats s = pool.stats();
        assertEquals(0, s.inUseBytes());
        assertEquals(s.cachedBytes(), s.reservedBytes());
        assertEquals(6 * 999, s.reuses());
        pool.trim();
        assertEquals(6, gpu.frees);
        assertEquals(0, pool.stats().reservedBytes());
    }

    @Test
    void outOfMemoryFreesTheCacheAndRetriesOnce() {
        FakeGpu gpu = new FakeGpu();
        gpu.capacity = 10_000;
        DevicePool pool = new DevicePool(gpu, false);
        pool.release(pool.alloc(6000)); // cached, still counted by the device
        DevicePool.Block b = pool.alloc(7000); // another class: fails, trims, succeeds
        assertEquals(1, gpu.frees);
        pool.release(b);
        assertThrows(CudaOpException.OutOfDeviceMemory.class, () -> pool.alloc(20_000));
    }

    @Test
    void exactPoolsFreeAtOnceAndPoisonFillsEveryAllocation() {
        FakeGpu gpu = new FakeGpu();
        DevicePool pool = new DevicePool(gpu, true);
        pool.poison = true;
        DevicePool.Block b = pool.alloc(13);
        assertEquals(List.of(13L), gpu.sizes, "exact size");
        assertEquals(1, gpu.memsets);
        pool.release(b);
        assertEquals(1, gpu.frees);
        assertEquals(0, pool.stats().reservedBytes());
    }
}
