package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.sam.Goldens;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole SAM ViT-B pipeline — Pillow-exact preprocessing of a non-square 200×150 image, the 12-block encoder,
 * prompt encoder, decoder and postprocessing — against the from-spec PyTorch reference
 * (tools/reference/sam_reference.py vitb), with ViT-B weights generated from a seed on both sides and loaded here
 * from a .safetensors file written by segsam. Bounds (issue 3): image embedding relative L2 ≤ 1e-4; low-res and
 * full-size logits relative L2 ≤ 1e-3; thresholded masks IoU ≥ 0.99.
 */
class SamVitBEndToEndTest {
    @TempDir
    Path dir;

    @Test
    void vitBFromSafetensorsMatchesPyTorch() throws Exception {
        try (SafeTensorsFile golden = Goldens.open("sam_vitb_e2e.safetensors")) {
            long seed = Long.parseLong(golden.metadata().get("seed"));
            Path weights = dir.resolve("sam_vit_b_seeded.safetensors");
            TensorSource generated = SeededWeights.generate(SamConfig.vitB(), seed);
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : generated.names()) w.add(n, generated.get(n));
            w.write(weights);
            try (SafeTensorsFile f = SafeTensorsFile.open(weights)) {
                check(golden, f);
            }
        }
    }

    static void check(SafeTensorsFile golden, TensorSource weights) {
        SegSam model = SegSam.load(weights, Backends.select(Device.CPU));
        assertEquals(SamConfig.vitB(), model.sam().config());
        JsonNode hw = Goldens.json(golden, "image_hw");
        int h = hw.get(0).asInt(), w = hw.get(1).asInt();
        float[] px = golden.get("image_u8").toArray();
        byte[] rgb = new byte[px.length];
        for (int i = 0; i < px.length; i++) rgb[i] = (byte) (int) px[i];
        Predictor predictor = new Predictor(model, Convention.SAM);
        try (Predictor.Encoded e = predictor.encode(new RgbImage(w, h, rgb), null)) {
            JsonNode rhw = Goldens.json(golden, "resized_hw");
            assertEquals(rhw.get(0).asInt(), e.image().resizedH());
            assertEquals(rhw.get(1).asInt(), e.image().resizedW());
            double embErr = Goldens.relL2(golden.get("image_embedding"), e.features().fv());
            assertTrue(embErr <= 1e-4, "image embedding relative L2 " + embErr);
            JsonNode prompts = Goldens.json(golden, "prompts");
            for (int i = 0; i < prompts.size(); i++) {
                JsonNode p = prompts.get(i);
                String k = "prompt" + i + ".";
                Goldens.GoldenPrompt gp = Goldens.prompt(p, false, h, w, h, w);
                float[][] pts = gp.points();
                int[] labels = gp.labels();
                float[] box = gp.box();
                Tensor mask = golden.contains(k + "mask_input") ? golden.get(k + "mask_input") : null;
                Predictor.Result r = predictor.predict(e, Prompt.of(pts, labels, box, mask, p.get("multimask").asBoolean()));
                double lowErr = Goldens.relL2(golden.get(k + "low_res"), r.lowRes());
                double fullErr = Goldens.relL2(golden.get(k + "mask_logits"), r.maskLogits());
                assertTrue(lowErr <= 1e-3, k + "low-res logits relative L2 " + lowErr);
                assertTrue(fullErr <= 1e-3, k + "full-size logits relative L2 " + fullErr);
                assertArrayEquals(new int[] {1, p.get("multimask").asBoolean() ? 3 : 1, h, w}, r.maskLogits().shape());
                double iou = Goldens.maskIoU(golden.get(k + "mask_logits"), r.maskLogits());
                assertTrue(iou >= 0.99, k + "mask IoU " + iou);
                System.out.printf("ViT-B e2e %s: embedding relL2 %.2e, low-res %.2e, full-size %.2e, mask IoU %.5f%n", k, embErr, lowErr, fullErr, iou);
            }
        }
    }
}
