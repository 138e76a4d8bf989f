package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train / eval {@code --device}: the CPU by default, and on a host without a GPU {@code --device cuda} is one line, nothing written. */
class TrainDeviceTest {
    @TempDir
    Path dir;

    @Test
    void deviceCudaWithoutAGpuFailsInOneLineBeforeWritingAnything() throws Exception {
        boolean gpu;
        try {
            Backends.select(Options.defaults().withDevice(Device.CUDA));
            gpu = true;
        } catch (Backends.BackendUnavailableException e) {
            gpu = false;
        }
        Assumptions.assumeFalse(gpu, "a GPU is present: this test is for hosts without one");
        Path out = dir.resolve("run");
        MainTest.Run r = MainTest.run(TrainCommandTest.args(out, "--steps", "1", "--device", "cuda"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("device cuda requested, but"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void trainingRunsOnTheCpuByDefaultAndWithDeviceCpu() throws Exception {
        Path out = dir.resolve("cpu");
        MainTest.Run r = MainTest.run(TrainCommandTest.args(out, "--steps", "1", "--device", "cpu", "--threads", "1", "--cache", dir.resolve("c").toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(out.resolve("model.safetensors")));
    }
}
