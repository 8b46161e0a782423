package io.syncctl.connect;

import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * Replaces a row's key with {_id: a string}: the value of a one-column primary key as it reads
 * ("7"), or the values of a composite key as a JSON array in key column order ("[\"acme\",7]").
 *
 * <p>FerretDB looks a document up by index only for a string (or ObjectId) _id, so a
 * destination that uses document_id = "key_string" gets every table, composite keys included,
 * keyed by such a string.
 */
public class KeyToStringId<R extends ConnectRecord<R>> implements Transformation<R> {
  private static final Schema KEY =
      SchemaBuilder.struct().field("_id", Schema.STRING_SCHEMA).build();

  @Override
  public void configure(Map<String, ?> settings) {}

  @Override
  public R apply(R record) {
    if (!(record.key() instanceof Struct)) {
      throw new DataException("a row's key must be a struct of its primary key columns");
    }
    Struct key = (Struct) record.key();
    Struct id = new Struct(KEY).put("_id", idOf(key));
    return record.newRecord(
        record.topic(),
        record.kafkaPartition(),
        KEY,
        id,
        record.valueSchema(),
        record.value(),
        record.timestamp(),
        record.headers());
  }

  static String idOf(Struct key) {
    java.util.List<Field> fields = key.schema().fields();
    if (fields.size() == 1) {
      Object value = key.get(fields.get(0));
      if (value instanceof byte[]) {  // a bytea key: its bytes, as base64
        return java.util.Base64.getEncoder().encodeToString((byte[]) value);
      }
      return String.valueOf(value);
    }
    StringBuilder json = new StringBuilder("[");
    for (int i = 0; i < fields.size(); i++) {
      if (i > 0) {
        json.append(',');
      }
      Object value = key.get(fields.get(i));
      if (value == null || value instanceof Number || value instanceof Boolean) {
        json.append(value);
      } else {
        quote(json, value.toString());
      }
    }
    return json.append(']').toString();
  }

  private static void quote(StringBuilder json, String text) {
    json.append('"');
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') {
        json.append('\\').append(c);
      } else if (c < 0x20) {
        json.append(String.format("\\u%04x", (int) c));
      } else {
        json.append(c);
      }
    }
    json.append('"');
  }

  @Override
  public ConfigDef config() {
    return new ConfigDef();
  }

  @Override
  public void close() {}
}
