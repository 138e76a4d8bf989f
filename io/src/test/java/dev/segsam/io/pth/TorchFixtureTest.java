package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.tensor.HostStorage;
import dev.segsam.tensor.Tensor;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads checkpoints written by torch.save (tools/reference/pth_fixtures.py, torch 1.13) and compares every tensor,
 * bit for bit, with what torch.load decoded from the same files.
 */
class TorchFixtureTest {
    @TempDir
    Path dir;

    @Test
    void plainStateDictMatchesTorchIncludingViewsAndAllDtypes() throws Exception {
        JsonNode want = Fixtures.expected("plain.pth");
        try (PthFile f = PthFile.open(Fixtures.resource(dir, "plain.pth"))) {
            assertEquals(Fixtures.strings(want.get("names")), List.copyOf(f.names()), "state_dict() order");
            assertEquals(27, Fixtures.assertMatchesTorch(f, want.get("tensors")));
            assertNull(f.stateDictKey());
            assertEquals(List.of(), f.warnings(), "the _metadata attribute is not an entry");
            assertEquals("plain", f.topFolder());
            assertEquals(ByteOrder.LITTLE_ENDIAN, f.byteOrder(), "no byteorder record: little-endian");
        }
    }

    @Test
    @SuppressWarnings("try") // closes the file inside its try on purpose: tensors of a closed file must fail cleanly
    void contiguousFloat32IsZeroCopyAndViewsAreCopies() throws Exception {
        try (PthFile f = PthFile.open(Fixtures.resource(dir, "plain.pth"))) {
            for (String n : List.of("shared_whole", "shared_row", "lin.weight", "scalar", "param")) {
                Tensor t = f.get(n);
                assertFalse(((HostStorage) t.storage()).owned(), n + " must be a view of the mapping");
                assertEquals(f.bytes(n).address(), t.data().address(), n);
                assertTrue(f.isInPlace(n), n);
            }
            // shared_whole and shared_row view one storage: the row starts 10 floats (40 bytes) in
            assertEquals(f.info("shared_whole").storageKey(), f.info("shared_row").storageKey());
            assertEquals(f.get("shared_whole").data().address() + 40, f.get("shared_row").data().address());
            for (String n : List.of("t_view", "slice", "expanded", "f16", "bf16", "f64")) {
                assertTrue(((HostStorage) f.get(n).storage()).owned(), n + " must be a copy");
            }
            assertFalse(f.isInPlace("t_view"));
            assertEquals(f.info("shared_whole").storageKey(), f.info("t_view").storageKey());
            assertEquals(0, f.get("empty").numel());
            assertArrayEquals(new int[] {0, 3}, f.get("empty").shape());
            assertArrayEquals(new int[] {}, f.get("scalar").shape());

            var e = assertThrows(IllegalArgumentException.class, () -> f.get("ids"));
            assertTrue(e.getMessage().contains("longValues"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.longValues("lin.weight"));
            assertThrows(IllegalArgumentException.class, () -> f.get("nope"));
            Tensor w = f.get("lin.weight");
            f.close();
            assertThrows(IllegalStateException.class, () -> w.get(0)); // unmapped: an exception, never a crash
        }
    }

    @Test
    void protocol4PickleReadsTheSame() throws Exception {
        JsonNode want = Fixtures.expected("plain.pth");
        try (PthFile f = PthFile.open(Fixtures.resource(dir, "protocol4.pth"))) {
            assertTrue(Fixtures.expected("protocol4.pth").get("opcodes").toString().contains("STACK_GLOBAL"));
            assertEquals(Fixtures.strings(want.get("names")), List.copyOf(f.names()));
            assertEquals(27, Fixtures.assertMatchesTorch(f, want.get("tensors")));
        }
    }

    @Test
    void trainingCheckpointUsesTheModelEntryAndSkipsTheRest() throws Exception {
        JsonNode want = Fixtures.expected("nested.pth");
        try (PthFile f = PthFile.open(Fixtures.resource(dir, "nested.pth"))) {
            assertEquals("model", f.stateDictKey());
            assertEquals(List.of("module.lin.weight", "module.lin.bias"), List.copyOf(f.names()), "DataParallel prefix kept");
            assertEquals(Fixtures.strings(want.get("names")), List.copyOf(f.names()));
            assertEquals(2, Fixtures.assertMatchesTorch(f, want.get("tensors")));
            List<String> w = f.warnings();
            for (String skipped : Fixtures.strings(want.get("skipped_in_state_dict"))) {
                assertTrue(w.stream().anyMatch(s -> s.startsWith("skipped state dict entry \"" + skipped + "\"")), skipped + " in " + w);
            }
            for (String skipped : Fixtures.strings(want.get("skipped_top_level"))) {
                assertTrue(w.stream().anyMatch(s -> s.startsWith("skipped top-level entry \"" + skipped + "\"")), skipped + " in " + w);
            }
            assertEquals(8, w.size(), w.toString());
            assertTrue(w.contains("skipped state dict entry \"count\": an int (7), not a tensor"), w.toString());
            assertTrue(w.stream().anyMatch(s -> s.contains("\"seen\": an int (1099511627776)")), w.toString());
        }
    }

    @Test
    void explicitKeyAndMissingKey() throws Exception {
        Path p = Fixtures.resource(dir, "nested.pth");
        try (PthFile f = PthFile.open(p, "model")) {
            assertEquals(2, f.names().size());
        }
        var e = assertThrows(PthFormatException.class, () -> PthFile.open(p, "ema"));
        assertEquals("state dict", e.field());
        assertTrue(e.getMessage().contains("\"model\", \"epoch\""), e.getMessage());
        try (PthFile f = PthFile.open(p, "optimizer")) { // an optimizer's state_dict(): no tensors at its top level
            assertEquals(0, f.names().size());
            assertTrue(f.warnings().stream().anyMatch(s -> s.startsWith("skipped state dict entry \"state\": a dict")), f.warnings().toString());
        }
    }

    @Test
    void anOptimizerObjectNextToTheModelIsSkippedUnbuilt() throws Exception {
        JsonNode want = Fixtures.expected("nested_object.pth");
        assertTrue(Fixtures.strings(want.get("globals")).contains("torch.optim.adamw.AdamW"));
        try (PthFile f = PthFile.open(Fixtures.resource(dir, "nested_object.pth"))) {
            assertEquals("model", f.stateDictKey());
            assertEquals(2, Fixtures.assertMatchesTorch(f, want.get("tensors")));
            assertEquals(List.of("skipped top-level entry \"optimizer\": a torch.optim.adamw.AdamW object, left unbuilt "
                    + "(nothing was executed); the state dict is entry \"model\""), f.warnings());
        }
    }

    @Test
    void samShapedCheckpointHasSpecNamesShapesAndTotals() throws Exception {
        JsonNode want = Fixtures.expected("sam_vit_b_shaped.pth");
        // every tensor is a stride-0 view of a one-element storage: the small file claims 375 MB, which the default
        // limits refuse (a file may not ask for memory it does not hold); raised limits read it
        Path p = Fixtures.resource(dir, "sam_vit_b_shaped.pth");
        PthFormatException refused = assertThrows(PthFormatException.class, () -> PthFile.open(p));
        assertTrue(refused.getMessage().contains("more than the limit of 16 per element (raise it with -Dsegsam.io.pth.maxViewExpansion=N)"),
                refused.getMessage());
        IoLimits raised = IoLimits.defaults().withMaxViewExpansion(Long.MAX_VALUE).withMaxExpandedBytes(1L << 30);
        try (PthFile f = PthFile.open(p, null, raised)) {
            assertEquals(314, f.names().size());
            assertEquals(Fixtures.strings(want.get("names")), List.copyOf(f.names()));
            long total = 0;
            int i = 0;
            for (PthTensorInfo t : f.infos()) {
                assertArrayEquals(Fixtures.longs(want.get("shapes").get(i++)), t.shape(), t.name());
                total += t.numel();
            }
            assertEquals(want.get("numel").asLong(), total);
            // docs/design/sam.md §12: 93,735,472 parameters plus the prompt encoder's 256-element Gaussian buffer
            assertEquals(93_735_472L + 256, total);
            Tensor pos = f.get("image_encoder.pos_embed");
            assertTrue(pos.hasShape(1, 64, 64, 768));
            assertEquals(0.5f, pos.at(0, 63, 63, 767));
            assertEquals(0.5f, f.get("mask_decoder.iou_prediction_head.layers.2.bias").get(3));
        }
    }
}
