package dev.segsam.kernels;

import dev.segsam.tensor.Device;
import dev.segsam.tensor.Storage;
import java.lang.ref.Cleaner;

/**
 * Device memory behind CUDA tensors: a block of the backend's {@link DevicePool}. {@link #close()} returns the block
 * to the pool at once, so code that closes its intermediates runs in constant device memory. A storage that is never
 * closed is returned by a {@link Cleaner} once it is unreachable: a safety net, not the plan (the GC does not see
 * device memory pressure).
 */
public final class CudaStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final DevicePool.Block block;
    private final long bytes;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    CudaStorage(DevicePool pool, long bytes) {
        this.bytes = bytes;
        this.block = pool.alloc(bytes);
        // the action holds the pool and the block, never this storage (or it would stay reachable)
        this.cleanable = CLEANER.register(this, new Release(pool, block));
    }

    @Override
    public Device device() {
        return Device.CUDA;
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    /** The device address of byte 0; fails after {@link #close()}. */
    long address() {
        if (closed) throw new IllegalStateException("a CUDA tensor was used after close()");
        return block.address();
    }

    @Override
    public void close() {
        closed = true;
        cleanable.clean(); // runs the release at most once
    }

    private record Release(DevicePool pool, DevicePool.Block block) implements Runnable {
        @Override
        public void run() {
            pool.release(block);
        }
    }
}
