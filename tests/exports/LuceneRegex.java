// Lucene's RegExp, as Elasticsearch runs a `regexp` query: parses each pattern and
// tells which sample values it matches (Lucene matches the whole value).
//
// Input (stdin), one item per line, hex-encoded UTF-8: `R <hex>` a pattern,
// `S <hex>` a sample. Output: `ERR <i> <message>` for a pattern Lucene rejects,
// `M <i> <j>` for pattern i matching sample j.
//
// Run: java -cp /usr/share/java/lucene-core.jar LuceneRegex.java < items
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.util.automaton.CharacterRunAutomaton;
import org.apache.lucene.util.automaton.RegExp;

public class LuceneRegex {
    static String unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        List<String> patterns = new ArrayList<>();
        List<String> samples = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("R ")) patterns.add(unhex(line.substring(2)));
            else if (line.startsWith("S ")) samples.add(unhex(line.substring(2)));
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < patterns.size(); i++) {
            CharacterRunAutomaton run;
            try {
                // Elasticsearch's defaults: all syntax flags, 10000 determinized states.
                run = new CharacterRunAutomaton(new RegExp(patterns.get(i)).toAutomaton(10000));
            } catch (RuntimeException e) {
                out.append("ERR ").append(i).append(' ')
                   .append(String.valueOf(e.getMessage()).replace('\n', ' ')).append('\n');
                continue;
            }
            for (int j = 0; j < samples.size(); j++) {
                if (run.run(samples.get(j))) out.append("M ").append(i).append(' ').append(j).append('\n');
            }
        }
        System.out.print(out);
    }
}
