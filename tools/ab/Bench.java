import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.util.List;

/**
 * SamBench's encode (preprocess and encode the 600×450 test image with seeded ViT-B weights) and decode (one box,
 * postprocessed to the image size) as static calls; {@link Ab} loads one copy per build, each in its own class loader.
 * {@code -Dab.model=segsam}: the same ViT-B SAM made a SEG-SAM (4 classes, hashed text embeddings, as
 * {@code segsam init} makes it), so encode adds t'_text and decode adds T2VSE and Dec_saw.
 */
public class Bench {
    static Predictor p;
    static RgbImage image;
    static Predictor.Encoded enc;
    static Prompt box;

    public static void setup() {
        TensorSource sam = SeededWeights.generate(SamConfig.vitB(), 20261126L);
        if (System.getProperty("ab.model", "sam").equals("segsam")) {
            var classes = List.of(ClassTexts.spec("liver", null), ClassTexts.spec("spleen", null),
                    ClassTexts.spec("kidney_L", null), ClassTexts.spec("Thalamus_R", null));
            sam = SegSamInit.create(sam, classes, SegSamInit.hashedEmbeddings(classes, 64), "hashed-v1", true, "sam", 42).source();
        }
        SegSam model = SegSam.load(sam, Backends.cpu());
        p = new Predictor(model, Preprocessor.Convention.SAM);
        image = RgbImage.black(600, 450);
        for (int y = 0; y < 450; y++) for (int x = 0; x < 600; x++) for (int c = 0; c < 3; c++) image.set(x, y, c, (x * 7 + y * 3 + c * 50) % 256);
        box = Prompt.box(150, 100, 420, 330);
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
