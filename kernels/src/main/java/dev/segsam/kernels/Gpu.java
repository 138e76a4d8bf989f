package dev.segsam.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The few driver operations the CUDA backend is built from, on raw device addresses. {@link JCudaGpu} implements them
 * over the JCuda driver API (one stream, pinned staging buffers); the tests also run the whole backend on a CPU
 * emulator of the same kernels ({@code EmuGpu}), which is why this is an interface.
 *
 * <p>Ordering: every operation is issued in one stream, in call order; {@link #copyToHost} returns only when the bytes
 * have arrived, {@link #synchronize} when everything issued before it has finished. Failures are
 * {@link CudaOpException}s whose message starts with {@code what}.
 */
interface Gpu {
    /** E.g. {@code "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)"}. */
    String description();

    /** Streaming multiprocessors (for choosing GEMM tile sizes). */
    int multiprocessors();

    /** Makes this driver usable from the calling thread (the primary context current); cheap when it already is. */
    void enterThread();

    /** A fresh device allocation of {@code bytes}; {@link CudaOpException.OutOfDeviceMemory} when the device is full. */
    long malloc(long bytes);

    void free(long address);

    /** Sets {@code count} 32-bit words from {@code address} to {@code value} (stream-ordered). */
    void memset32(long address, int value, long count);

    /** Copies {@code bytes} of host memory to the device (stream-ordered; {@code src} may be reused on return). */
    void copyToDevice(long dst, MemorySegment src, long bytes);

    /** Copies {@code bytes} from the device into {@code dst}, after all earlier work; returns when they are there. */
    void copyToHost(MemorySegment dst, long src, long bytes);

    /** The handle of a kernel for {@link #launch}. */
    Object function(Kernel kernel);

    /**
     * Launches {@code kernel} with {@code args} already checked against {@link Kernel#params}: {@link Integer},
     * {@link Float}, or {@link Long} device addresses (0 = null).
     */
    void launch(Object function, Kernel kernel, int gx, int gy, int gz, int bx, int by, int sharedBytes, Object[] args);

    /** Waits for everything issued so far. */
    void synchronize();
}
