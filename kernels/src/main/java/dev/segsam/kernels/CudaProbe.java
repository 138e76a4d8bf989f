package dev.segsam.kernels;

import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

/**
 * Detects, once per JVM, whether a CUDA device can be used, without ever letting a missing driver escape as a stack
 * trace. Outcomes (see docs/design/stack.md §2.6):
 * <ul>
 *   <li>no driver: the first touch of {@code JCudaDriver} throws {@link UnsatisfiedLinkError} (libcuda.so.1 missing),
 *       later touches {@link NoClassDefFoundError};</li>
 *   <li>driver but no device: {@code cuInit} throws {@code CudaException: CUDA_ERROR_NO_DEVICE};</li>
 *   <li>otherwise the device count and the first device's name and compute capability.</li>
 * </ul>
 * Options with {@code cudaProbe} false ({@code segsam.cuda=off}) never reach the probe ({@link CudaBackendProvider}).
 */
public final class CudaProbe {
    private CudaProbe() {}

    /** The probe's result: {@code reason} is null when at least one device is usable. */
    public record Result(int deviceCount, String deviceName, int major, int minor, String reason) {
        public boolean available() {
            return reason == null;
        }

        @Override
        public String toString() {
            return available() ? deviceCount + " device(s), first: " + deviceName + " (sm_" + major + minor + ")" : reason;
        }
    }

    private static volatile Result result;

    /** The probe result, computed on first call. */
    public static Result probe() {
        Result r = result;
        if (r == null) {
            synchronized (CudaProbe.class) {
                if (result == null) result = run();
                r = result;
            }
        }
        return r;
    }

    private static Result run() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] == 0) return new Result(0, null, 0, 0, "the NVIDIA driver reports no CUDA device");
            CUdevice dev = new CUdevice();
            JCudaDriver.cuDeviceGet(dev, 0);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, dev);
            int[] major = new int[1], minor = new int[1];
            JCudaDriver.cuDeviceGetAttribute(major, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            JCudaDriver.cuDeviceGetAttribute(minor, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
            String n = new String(name, java.nio.charset.StandardCharsets.US_ASCII).trim().replace("\0", "");
            return new Result(count[0], n, major[0], minor[0], null);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return new Result(0, null, 0, 0, "no NVIDIA driver (libcuda.so.1 could not be loaded)");
        } catch (Throwable e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("CUDA_ERROR_NO_DEVICE")) return new Result(0, null, 0, 0, "the NVIDIA driver reports no CUDA device");
            return new Result(0, null, 0, 0, "CUDA initialisation failed: " + e.getClass().getSimpleName() + ": " + m);
        }
    }
}
