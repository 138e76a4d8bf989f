package dev.segsam.tensor;

/**
 * The memory behind one or more tensors. Host storage ({@link HostStorage}) wraps a {@link java.lang.foreign.MemorySegment};
 * device storage is provided by a backend (e.g. the CUDA backend in the {@code kernels} module).
 *
 * <p>Closing a storage frees its memory at once (where the storage owns it). The tensor that owns the storage closes it,
 * exactly once, when the tensor (or a view of it, or its {@link TensorScope}) is closed; {@link Tensor} itself refuses
 * every later use and a second close, so implementations need not guard against them.
 */
public interface Storage extends AutoCloseable {
    /** The device the bytes live on. Never {@link Device#AUTO}. */
    Device device();

    /** Size in bytes. */
    long byteSize();

    /** Frees the memory if this storage owns it; a no-op for borrowed memory. Called once, by the owning tensor. */
    @Override
    void close();
}
