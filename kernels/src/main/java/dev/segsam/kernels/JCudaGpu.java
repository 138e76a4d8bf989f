package dev.segsam.kernels;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * {@link Gpu} over the JCuda 12.6 driver API (docs/design/stack.md §2): device 0's primary context, made current on every calling
 * thread; the kernels from the fatbin resource loaded with {@code cuModuleLoadData}; one non-blocking stream; host
 * copies staged through two pinned buffers so that a copy of chunk i overlaps the host-side copy of chunk i ± 1.
 *
 * <p>Device addresses travel as plain {@code long}s: a {@link CUdeviceptr} is built for a driver call as the null
 * pointer plus a byte offset (JCuda passes {@code nativePointer + byteOffset}), and kernel arguments are pointers to
 * 8-byte values, exactly what {@code Pointer.to(devicePtr)} would produce.
 */
final class JCudaGpu implements Gpu {
    /**
     * The kernels, built by kernels/build-fatbin.sh; committed gzip-compressed and decompressed by the build into the
     * classes (kernels/pom.xml), so the class path holds the plain fatbin.
     */
    static final String FATBIN = "/dev/segsam/kernels/segsam.fatbin";
    private static final long STAGING_BYTES = 8L << 20;
    private static final CUdeviceptr NULL = new CUdeviceptr();

    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final CUstream stream = new CUstream();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private final String description;
    private final int multiprocessors;

    private final ReentrantLock stagingLock = new ReentrantLock();
    private Pointer[] pinned; // two staging buffers, allocated on first use
    private MemorySegment[] pinnedSegments;
    private CUevent[] stagingDone;

    JCudaGpu() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            CUdevice device = new CUdevice();
            cuDeviceGet(device, 0);
            cuDevicePrimaryCtxRetain(context, device);
            cuCtxSetCurrent(context);
            current.set(Boolean.TRUE);
            cuModuleLoadData(module, fatbin());
            cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            byte[] name = new byte[256];
            cuDeviceGetName(name, name.length, device);
            int[] v = new int[1];
            cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
            multiprocessors = v[0];
            cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
            int major = v[0];
            cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
            long[] total = new long[1];
            cuDeviceTotalMem(total, device);
            description = String.format("%s (sm_%d%d, %d SMs, %.1f GiB)",
                    new String(name, StandardCharsets.US_ASCII).replace("\0", "").trim(), major, v[0], multiprocessors,
                    total[0] / (double) (1L << 30));
        } catch (CudaException e) {
            throw new CudaOpException("CUDA initialisation (primary context, loading " + FATBIN + "): " + e.getMessage(), e);
        }
    }

    /** The fatbin from the class path. */
    static byte[] fatbin() {
        try (InputStream in = JCudaGpu.class.getResourceAsStream(FATBIN)) {
            if (in == null) throw new IllegalStateException("kernel binary " + FATBIN + " is missing from the class path");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static CUdeviceptr at(long address) {
        return NULL.withByteOffset(address);
    }

    /** The stream every operation is issued in (shared with cuBLAS). */
    CUstream stream() {
        return stream;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public void enterThread() {
        if (!current.get()) {
            call("cuCtxSetCurrent", () -> cuCtxSetCurrent(context));
            current.set(Boolean.TRUE);
        }
    }

    @Override
    public long malloc(long bytes) {
        DevicePointer p = new DevicePointer();
        try {
            cuMemAlloc(p, bytes);
        } catch (CudaException e) {
            String m = "cuMemAlloc(" + bytes + " bytes): " + e.getMessage();
            if (String.valueOf(e.getMessage()).contains(CUresult.stringFor(CUresult.CUDA_ERROR_OUT_OF_MEMORY))) {
                throw new CudaOpException.OutOfDeviceMemory(m, e);
            }
            throw new CudaOpException(m, e);
        }
        return p.address();
    }

    @Override
    public void free(long address) {
        // cuMemFree must not overtake kernels still using the block: drain the stream first (frees are rare: the pool
        // keeps blocks for reuse).
        call("cuMemFree", () -> {
            cuStreamSynchronize(stream);
            cuMemFree(at(address));
        });
    }

    @Override
    public void memset32(long address, int value, long count) {
        call("cuMemsetD32Async(" + count + " words)", () -> cuMemsetD32Async(at(address), value, count, stream));
    }

    private void ensureStaging() {
        if (pinned != null) return;
        pinned = new Pointer[2];
        pinnedSegments = new MemorySegment[2];
        stagingDone = new CUevent[2];
        for (int j = 0; j < 2; j++) {
            Pointer p = new Pointer();
            cuMemAllocHost(p, STAGING_BYTES);
            pinned[j] = p;
            pinnedSegments[j] = MemorySegment.ofBuffer(p.getByteBuffer(0, STAGING_BYTES));
            stagingDone[j] = new CUevent();
            cuEventCreate(stagingDone[j], CUevent_flags.CU_EVENT_DISABLE_TIMING);
        }
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes) {
        stagingLock.lock();
        try {
            call("host-to-device copy of " + bytes + " bytes", () -> {
                ensureStaging();
                int j = 0;
                for (long off = 0; off < bytes; off += STAGING_BYTES, j ^= 1) {
                    long n = Math.min(STAGING_BYTES, bytes - off);
                    cuEventSynchronize(stagingDone[j]); // the copy that last read buffer j has finished
                    MemorySegment.copy(src, off, pinnedSegments[j], 0, n);
                    cuMemcpyHtoDAsync(at(dst + off), pinned[j], n, stream);
                    cuEventRecord(stagingDone[j], stream);
                }
            });
        } finally {
            stagingLock.unlock();
        }
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes) {
        stagingLock.lock();
        try {
            call("device-to-host copy of " + bytes + " bytes", () -> {
                ensureStaging();
                long prevOff = -1, prevN = 0;
                int j = 0;
                for (long off = 0; off < bytes; off += STAGING_BYTES, j ^= 1) {
                    long n = Math.min(STAGING_BYTES, bytes - off);
                    cuMemcpyDtoHAsync(pinned[j], at(src + off), n, stream);
                    cuEventRecord(stagingDone[j], stream);
                    if (prevOff >= 0) drain(j ^ 1, dst, prevOff, prevN); // previous chunk, while this one copies
                    prevOff = off;
                    prevN = n;
                }
                if (prevOff >= 0) drain(j ^ 1, dst, prevOff, prevN);
            });
        } finally {
            stagingLock.unlock();
        }
    }

    private void drain(int j, MemorySegment dst, long off, long n) {
        cuEventSynchronize(stagingDone[j]);
        MemorySegment.copy(pinnedSegments[j], 0, dst, off, n);
    }

    @Override
    public Object function(Kernel kernel) {
        CUfunction f = new CUfunction();
        call("cuModuleGetFunction(" + kernel.symbol + ")", () -> cuModuleGetFunction(f, module, kernel.symbol));
        return f;
    }

    @Override
    public void launch(Object function, Kernel kernel, int gx, int gy, int gz, int bx, int by, int sharedBytes, Object[] args) {
        Pointer[] values = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            values[i] = switch (args[i]) {
                case Integer v -> Pointer.to(new int[] {v});
                case Float v -> Pointer.to(new float[] {v});
                case Double v -> Pointer.to(new double[] {v});
                case Long v -> Pointer.to(new long[] {v});
                default -> throw new IllegalArgumentException("kernel argument of type " + args[i].getClass());
            };
        }
        cuLaunchKernel((CUfunction) function, gx, gy, gz, bx, by, 1, sharedBytes, stream, Pointer.to(values), null);
    }

    @Override
    public void synchronize() {
        cuStreamSynchronize(stream);
    }

    private interface DriverCall {
        void run();
    }

    private static void call(String what, DriverCall c) {
        try {
            c.run();
        } catch (CudaException e) {
            if (e instanceof CudaOpException) throw e;
            throw new CudaOpException(what + ": " + e.getMessage(), e);
        }
    }

    /** A {@link CUdeviceptr} that reveals the address the driver wrote into it. */
    private static final class DevicePointer extends CUdeviceptr {
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }
}
