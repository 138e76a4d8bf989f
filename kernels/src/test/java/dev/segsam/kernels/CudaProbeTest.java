package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import org.junit.jupiter.api.Test;

class CudaProbeTest {
    /** On any machine the probe answers (never throws) and is consistent with itself. */
    @Test
    void probeNeverThrowsAndIsCached() {
        CudaProbe.Result r = CudaProbe.probe();
        assertNotNull(r);
        assertEquals(r, CudaProbe.probe());
        if (r.available()) {
            assertTrue(r.deviceCount() > 0 && r.major() >= 7, r.toString());
        } else {
            assertFalse(r.reason().isBlank());
            assertFalse(r.reason().contains("\n"), "one line: " + r.reason());
        }
    }

    /**
     * With the provider on the class path: without a usable GPU, auto falls back to the CPU and cuda fails with one
     * line naming the cause; with one, both select CUDA.
     */
    @Test
    void deviceSelectionUsesTheProvider() {
        assertTrue(Backends.describeProviders().stream().anyMatch(s -> s.startsWith("cuda: ")), Backends.describeProviders().toString());
        String why = new CudaBackendProvider().unavailableReason();
        if (why == null) {
            assertEquals(Device.CUDA, Backends.select(Device.AUTO).device());
            return;
        }
        assertFalse(why.contains("\n"), why);
        assertEquals(Device.CPU, Backends.select(Device.AUTO).device());
        var e = assertThrows(Backends.BackendUnavailableException.class, () -> Backends.select(Device.CUDA));
        assertTrue(e.getMessage().startsWith("device cuda requested, but CUDA is unavailable: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    /** Options with the probe off ({@code segsam.cuda=off}): CUDA is unavailable with that reason, auto takes the CPU. */
    @Test
    void theProbeCanBeSwitchedOff() {
        Options off = Options.defaults().withCudaProbe(false);
        assertEquals(CudaDevice.DISABLED, new CudaBackendProvider().unavailableReason(off));
        assertEquals(Device.CPU, Backends.select(off.withDevice(Device.AUTO)).device());
        var e = assertThrows(Backends.BackendUnavailableException.class, () -> Backends.select(off.withDevice(Device.CUDA)));
        assertTrue(e.getMessage().contains("segsam.cuda=off"), e.getMessage());
        var c = assertThrows(IllegalStateException.class, () -> CudaBackend.create(off));
        assertEquals(CudaDevice.DISABLED, c.getMessage());
    }
}
