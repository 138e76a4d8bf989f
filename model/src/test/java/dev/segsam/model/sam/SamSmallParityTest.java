package dev.segsam.model.sam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.model.Prompt;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every SAM block on a small random configuration (4 blocks, two windowed with padding 8 → 10, two global; C = 32)
 * against the from-spec PyTorch reference (tools/reference/sam_reference.py small). Each stage is fed the golden
 * input of that stage, so a failure points at one block. Bound: relative L2 ≤ 1e-5 per stage (float32 reordering
 * gives ~1e-7; a wrong op gives ≥ 1e-2).
 */
class SamSmallParityTest {
    static final double BOUND = 1e-5;
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);
    static SafeTensorsFile g;
    static SamModel sam;
    static Backend B;

    @BeforeAll
    static void load() {
        load(new CpuBackend());
    }

    /** Loads the goldens and the model on {@code backend} (subclasses run every stage on another backend). */
    static void load(Backend backend) {
        B = backend;
        if (g == null) g = Goldens.open("sam_small.safetensors");
        sam = SamModel.load(SeededWeights.generate(SMALL, Long.parseLong(g.metadata().get("seed"))), B);
    }

    @AfterAll
    static void close() {
        g.close();
        g = null;
    }

    static void near(String what, Tensor expected, Tensor actual) {
        double e = Goldens.relL2(expected, actual);
        assertTrue(e <= BOUND, what + ": relative L2 " + e + " > " + BOUND);
    }

    @Test
    void configIsInferredFromShapes() {
        assertEquals(SMALL, sam.config());
        assertEquals(SMALL, SamConfig.infer(SeededWeights.generate(SMALL, 1)));
        JsonNode cfg = Goldens.json(g, "config");
        assertEquals(cfg.get("embed_dim").asInt(), sam.config().embedDim());
        assertEquals(cfg.get("window").asInt(), sam.config().window());
    }

    @Test
    void imageEncoderStageByStage() {
        ImageEncoderViT enc = sam.imageEncoder();
        near("patch embed + pos", g.get("patch_embed"), enc.embed(B, g.get("input")));
        Tensor in = g.get("patch_embed");
        for (int i = 0; i < SMALL.depth(); i++) {
            Tensor out = g.get("block" + i);
            near("block " + i + (SMALL.isGlobal(i) ? " (global)" : " (windowed)"), out, enc.block(B, i, in));
            in = out;
        }
        near("neck", g.get("image_embedding"), enc.neck(B, in));
        near("whole encoder", g.get("image_embedding"), sam.encode(g.get("input"), null));
    }

    @Test
    void densePositionalEncoding() {
        near("dense pe", g.get("dense_pe"), sam.densePe());
    }

    @Test
    void promptsDecoderAndPostprocessing() {
        JsonNode prompts = Goldens.json(g, "prompts");
        JsonNode hw = Goldens.json(g, "image_hw"), rhw = Goldens.json(g, "resized_hw");
        int h = hw.get(0).asInt(), w = hw.get(1).asInt(), rh = rhw.get(0).asInt(), rw = rhw.get(1).asInt();
        Tensor emb = g.get("image_embedding");
        for (int i = 0; i < prompts.size(); i++) {
            JsonNode p = prompts.get(i);
            String k = "prompt" + i + ".";
            Goldens.GoldenPrompt gp = Goldens.prompt(p, true, h, w, rh, rw);
            float[][] pts = gp.points();
            int[] labels = gp.labels();
            float[] box = gp.box();
            Tensor mask = g.contains(k + "mask_input") ? g.get(k + "mask_input") : null;
            try (PromptEncoder.Embeddings e = sam.promptEncoder().embed(B, Prompt.of(pts, labels, box, mask, false))) {
                near(k + "sparse", g.get(k + "sparse"), e.sparse());
                near(k + "dense", g.get(k + "dense"), e.dense());
            }
            boolean multi = p.get("multimask").asBoolean();
            try (SamModel.Decoded d = sam.decode(emb, Prompt.of(pts, labels, box, mask, multi))) {
                near(k + "iou (all tokens)", g.get(k + "iou_all"), d.all().iou());
                near(k + "low-res logits", g.get(k + "low_res"), d.lowRes());
                assertArrayEquals(new int[] {1, multi ? 3 : 1}, d.iou().shape());
                Tensor full = sam.postprocess(d.lowRes(), rh, rw, h, w);
                near(k + "full-size logits", g.get(k + "mask_logits"), full);
                assertTrue(Goldens.maskIoU(g.get(k + "mask_logits"), full) >= 0.999, k + "mask IoU");
            }
        }
    }

}
