package dev.segsam.kernels;

import jcuda.CudaException;

/**
 * A CUDA failure turned into a Java exception whose message names what was running: the kernel (or driver call) and
 * the shapes involved, then the driver's error, e.g. {@code "kernel layernorm_f32 (x [4096, 768]) grid 512x1x1 block
 * 256x1: CUDA_ERROR_ILLEGAL_ADDRESS"}.
 */
public class CudaOpException extends CudaException {
    public CudaOpException(String message) {
        super(message);
    }

    public CudaOpException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The device ran out of memory (after the pool returned its cached blocks). */
    public static final class OutOfDeviceMemory extends CudaOpException {
        public OutOfDeviceMemory(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
