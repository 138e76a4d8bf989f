package dev.segsam.io.medical.dicom;

import java.util.Locale;
import java.util.Map;

/**
 * What a DICOM-SEG segment says it is (Segmented Property Category / Type / Type Modifier Code Sequences): SNOMED CT
 * codes for the organ names segsam's datasets use, and a generic "Tissue" for everything else.
 *
 * <p>Category is always SCT 91723000 "Anatomical Structure". Type: a small table of organs (liver, spleen, kidney,
 * stomach, aorta, pancreas, gallbladder, esophagus, inferior vena cava, duodenum, adrenal gland, vertebra, heart,
 * lung, brain, urinary bladder, prostate, spinal cord, colon, small intestine), matched on the class name lower-cased
 * with {@code _}, {@code -} and spaces removed; a {@code left}/{@code right} prefix or suffix ("kidney_left") becomes
 * the modifier SCT 7771000 "Left" / 24028007 "Right". Any other name (a class list of brain atlas regions, a prompt of
 * plain SAM) gets type SCT 85756007 "Tissue": the viewer shows the segment label (the class name), and the code says
 * no more than that it is some tissue. The code values were checked against the SNOMED CT concepts in pydicom's code
 * dictionary ({@code pydicom.sr.codedict.codes.SCT}), not invented here.
 */
public record SegmentCodes(CodedConcept category, CodedConcept type, CodedConcept modifier) {
    public static final CodedConcept ANATOMICAL_STRUCTURE = CodedConcept.sct("91723000", "Anatomical Structure");
    public static final CodedConcept TISSUE = CodedConcept.sct("85756007", "Tissue");
    public static final CodedConcept LEFT = CodedConcept.sct("7771000", "Left");
    public static final CodedConcept RIGHT = CodedConcept.sct("24028007", "Right");

    private static final Map<String, CodedConcept> ORGANS = Map.ofEntries(
            organ("liver", "10200004", "Liver"),
            organ("spleen", "78961009", "Spleen"),
            organ("kidney", "64033007", "Kidney"),
            organ("stomach", "69695003", "Stomach"),
            organ("aorta", "15825003", "Aorta"),
            organ("pancreas", "15776009", "Pancreas"),
            organ("gallbladder", "28231008", "Gallbladder"),
            organ("esophagus", "32849002", "Esophagus"),
            organ("inferiorvenacava", "64131007", "Inferior Vena Cava"),
            organ("ivc", "64131007", "Inferior Vena Cava"),
            organ("duodenum", "38848004", "Duodenum"),
            organ("adrenalgland", "23451007", "Adrenal gland"),
            organ("vertebra", "51282000", "Vertebra"),
            organ("heart", "80891009", "Heart"),
            organ("lung", "39607008", "Lung"),
            organ("brain", "12738006", "Brain"),
            organ("bladder", "89837001", "Urinary bladder"),
            organ("urinarybladder", "89837001", "Urinary bladder"),
            organ("prostate", "41216001", "Prostate"),
            organ("spinalcord", "2748008", "Spinal cord"),
            organ("colon", "71854001", "Colon"),
            organ("smallintestine", "30315005", "Small intestine"));

    private static Map.Entry<String, CodedConcept> organ(String key, String value, String meaning) {
        return Map.entry(key, CodedConcept.sct(value, meaning));
    }

    /** Generic codes: Anatomical Structure / Tissue, no modifier. */
    public static SegmentCodes generic() {
        return new SegmentCodes(ANATOMICAL_STRUCTURE, TISSUE, null);
    }

    /** The codes for a class name (see the class comment); {@link #generic()} for names not in the table. */
    public static SegmentCodes forName(String name) {
        if (name == null) return generic();
        String n = name.toLowerCase(Locale.ROOT).replaceAll("[\\s_\\-]", "");
        CodedConcept side = null;
        for (String[] s : new String[][] {{"left", "L"}, {"right", "R"}}) {
            if (n.startsWith(s[0]) || n.endsWith(s[0])) {
                String rest = n.startsWith(s[0]) ? n.substring(s[0].length()) : n.substring(0, n.length() - s[0].length());
                if (ORGANS.containsKey(rest)) {
                    side = s[1].equals("L") ? LEFT : RIGHT;
                    n = rest;
                }
                break;
            }
        }
        CodedConcept type = ORGANS.get(n);
        return type == null ? generic() : new SegmentCodes(ANATOMICAL_STRUCTURE, type, side);
    }
}
