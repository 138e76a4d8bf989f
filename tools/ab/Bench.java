import dev.segsam.model.Predictor;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.image.RgbImage;

/**
 * SamBench's encode (preprocess and encode the 600×450 test image with seeded ViT-B weights) and decode (one box,
 * postprocessed to the image size) as static calls; {@link Ab} loads one copy per build, each in its own class loader.
 */
public class Bench {
    static Predictor p;
    static RgbImage image;
    static Predictor.Encoded enc;
    static Predictor.Prompt box;

    public static void setup() {
        SegSam model = SegSam.load(SeededWeights.generate(SamConfig.vitB(), 20261126L), Backends.cpu());
        p = new Predictor(model, Preprocessor.Convention.SAM);
        image = RgbImage.black(600, 450);
        for (int y = 0; y < 450; y++) for (int x = 0; x < 600; x++) for (int c = 0; c < 3; c++) image.set(x, y, c, (x * 7 + y * 3 + c * 50) % 256);
        box = new Predictor.Prompt(null, null, new float[] {150, 100, 420, 330}, null, false);
        enc = p.encode(image, null);
    }

    public static void encode() {
        enc.close();
        enc = p.encode(image, null);
    }

    public static void decode() {
        p.predict(enc, box).mask();
    }
}
