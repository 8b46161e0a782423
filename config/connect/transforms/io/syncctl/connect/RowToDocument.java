package io.syncctl.connect;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * Turns a row (a Struct from Debezium, after ExtractNewRecordState) into a schemaless map of the
 * Java values that the MongoDB sink's codecs write as the BSON types a MongoDB user expects:
 * dates and timestamps as Date, numeric as Decimal128 (or its exact text), json and jsonb as an
 * embedded document or array, time as "HH:MM:SS[.ffffff]". The type map is written out in
 * docs/engine-connect.md; every value either keeps all its information or is kept as exact text.
 *
 * <p>Only values of standard Java types leave this transform: the sink's BSON classes live in
 * another plugin's class loader.
 */
public class RowToDocument<R extends ConnectRecord<R>> implements Transformation<R> {
  public static final String DECIMALS = "decimals";
  public static final String NESTED_ARRAYS = "nested.arrays";
  private static final String DECIMAL128 = "decimal128";
  private static final String STRING = "string";
  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              DECIMALS,
              ConfigDef.Type.STRING,
              DECIMAL128,
              ConfigDef.ValidString.in(DECIMAL128, STRING),
              ConfigDef.Importance.HIGH,
              "decimal128: exact numbers as Decimal128 (its exact text when it has more than 34"
                  + " digits); string: always as exact text, for a destination without"
                  + " Decimal128.")
          .define(
              NESTED_ARRAYS,
              ConfigDef.Type.BOOLEAN,
              true,
              ConfigDef.Importance.MEDIUM,
              "false: a json value that holds an array directly in an array is written as its"
                  + " JSON text, for a destination that cannot store one (FerretDB).");
  // How Debezium 3.6 sends PostgreSQL's 'infinity' and '-infinity': pgjdbc's markers, as they
  // are, for a timestamp of any precision, and those markers turned into an (overflowed) day
  // count for a date. No finite PostgreSQL value is equal to them.
  private static final long INFINITY = 9223372036825200000L;
  private static final long MINUS_INFINITY = -9223372036832400000L;
  private static final long INFINITY_DAY = -2147472692L;
  private static final long MINUS_INFINITY_DAY = -2147472691L;
  // PostgreSQL's dates lie between 4713 BC and 5874897 AD (days -2,440,588 to 2,145,042,905
  // from 1970, give or take a calendar's edge): a day count beyond is not a date.
  private static final long FIRST_DAY = -2_441_000L;
  private static final long LAST_DAY = 2_145_043_000L;
  private static final long DAY_MILLIS = 86_400_000L;
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  private boolean decimal128;
  private boolean nestedArrays;

  @Override
  public void configure(Map<String, ?> settings) {
    Object configured = settings.get(DECIMALS);
    String decimals = configured == null ? DECIMAL128 : configured.toString();
    if (!DECIMAL128.equals(decimals) && !STRING.equals(decimals)) {
      throw new ConfigException(DECIMALS, decimals, "must be decimal128 or string");
    }
    decimal128 = DECIMAL128.equals(decimals);
    Object nested = settings.get(NESTED_ARRAYS);
    nestedArrays = nested == null || Boolean.parseBoolean(nested.toString());
  }

  @Override
  public R apply(R record) {
    if (!(record.value() instanceof Struct)) {
      return record; // a tombstone (a delete) or a value without a schema
    }
    Struct row = (Struct) record.value();
    return record.newRecord(
        record.topic(),
        record.kafkaPartition(),
        record.keySchema(),
        record.key(),
        null,
        document(row),
        record.timestamp(),
        record.headers());
  }

  private Map<String, Object> document(Struct struct) {
    Map<String, Object> fields = new LinkedHashMap<>();
    for (Field field : struct.schema().fields()) {
      fields.put(field.name(), value(field.schema(), struct.get(field)));
    }
    return fields;
  }

  private Object value(Schema schema, Object value) {
    if (value == null) {
      return null;
    }
    String name = schema.name();
    if (name != null) {
      switch (name) {
        case "io.debezium.time.Date":
          return date(((Number) value).longValue());
        case "io.debezium.time.Timestamp":
          return timestamp(((Number) value).longValue(), 1L);
        case "io.debezium.time.MicroTimestamp":
          return timestamp(((Number) value).longValue(), 1_000L);
        case "io.debezium.time.NanoTimestamp":
          return timestamp(((Number) value).longValue(), 1_000_000L);
        case "io.debezium.time.ZonedTimestamp":
          return zonedTimestamp((String) value);
        case "io.debezium.time.Time":
          return timeOfDay(((Number) value).longValue() * 1_000_000L);
        case "io.debezium.time.MicroTime":
          return timeOfDay(((Number) value).longValue() * 1_000L);
        case "io.debezium.time.NanoTime":
          return timeOfDay(((Number) value).longValue());
        case "org.apache.kafka.connect.data.Decimal":
          return decimal((BigDecimal) value);
        case "io.debezium.data.Json":
          return json((String) value);
        default:
          break; // Connect's Date and Timestamp are java.util.Date already; others by type
      }
    }
    Map<String, String> parameters = schema.parameters();
    if (parameters != null && value instanceof String) {
      String type = parameters.get("__debezium.source.column.type");
      if ("NUMERIC".equalsIgnoreCase(type) || "DECIMAL".equalsIgnoreCase(type)) {
        return numericText((String) value);
      }
    }
    switch (schema.type()) {
      case INT8:
      case INT16:
        return ((Number) value).intValue();
      case BYTES:
        return value instanceof ByteBuffer ? bytes((ByteBuffer) value) : value;
      case ARRAY:
        List<Object> items = new ArrayList<>();
        for (Object item : (List<?>) value) {
          items.add(value(schema.valueSchema(), item));
        }
        return items;
      case MAP:
        Map<String, Object> entries = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
          entries.put(String.valueOf(entry.getKey()), value(schema.valueSchema(), entry.getValue()));
        }
        return entries;
      case STRUCT:
        return document((Struct) value);
      default:
        return value;
    }
  }

  // A BSON Date could hold a date far enough for infinity, but drivers cannot read it back: the
  // word is kept instead.
  private static Object date(long days) {
    if (days == INFINITY_DAY) {
      return "infinity";
    }
    if (days == MINUS_INFINITY_DAY) {
      return "-infinity";
    }
    if (days < FIRST_DAY || days > LAST_DAY) {
      throw new DataException("a date of " + days + " days from 1970 is not a PostgreSQL date");
    }
    return new Date(days * DAY_MILLIS);
  }

  private static Object timestamp(long value, long unitsPerMilli) {
    if (value == INFINITY) {
      return "infinity";
    }
    if (value == MINUS_INFINITY) {
      return "-infinity";
    }
    return new Date(Math.floorDiv(value, unitsPerMilli));
  }

  private static Object zonedTimestamp(String text) {
    if (text.equals("infinity") || text.equals("-infinity")) {
      return text;
    }
    return Date.from(OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant());
  }

  private static String timeOfDay(long nanos) {
    if (nanos >= DAY_MILLIS * 1_000_000L) {
      return "24:00:00"; // PostgreSQL's time allows the end of the day
    }
    return DateTimeFormatter.ISO_LOCAL_TIME.format(LocalTime.ofNanoOfDay(nanos));
  }

  /** A numeric's text: NaN and the infinities stay text (a Java decimal has none), spelt as
   * PostgreSQL prints them (Debezium sends them upper-case). */
  private Object numericText(String text) {
    try {
      return decimal(new BigDecimal(text));
    } catch (NumberFormatException notANumber) {
      switch (text.toLowerCase(java.util.Locale.ROOT)) {
        case "nan":
          return "NaN";
        case "infinity":
          return "Infinity";
        case "-infinity":
          return "-Infinity";
        default:
          throw new DataException("a numeric value is not a number: " + text);
      }
    }
  }

  /** Decimal128 when it holds the number exactly (34 digits), otherwise the exact text. */
  private Object decimal(BigDecimal number) {
    boolean fits =
        number.precision() <= 34 && -number.scale() >= -6176 && -number.scale() <= 6111;
    return decimal128 && fits ? number : number.toPlainString();
  }

  private Object json(String text) {
    try {
      Object parsed = jsonValue(JSON.readValue(text, Object.class));
      return nestedArrays || !holdsArrayInArray(parsed, false) ? parsed : text;
    } catch (java.io.IOException error) {
      throw new DataException("a json value is not valid JSON: " + error.getMessage(), error);
    }
  }

  @SuppressWarnings("unchecked")
  private Object jsonValue(Object parsed) {
    if (parsed instanceof Map) {
      Map<String, Object> entries = new LinkedHashMap<>();
      for (Map.Entry<String, Object> entry : ((Map<String, Object>) parsed).entrySet()) {
        entries.put(entry.getKey(), jsonValue(entry.getValue()));
      }
      return entries;
    }
    if (parsed instanceof List) {
      List<Object> items = new ArrayList<>();
      for (Object item : (List<Object>) parsed) {
        items.add(jsonValue(item));
      }
      return items;
    }
    if (parsed instanceof BigInteger) {
      return decimal(new BigDecimal((BigInteger) parsed)); // beyond Int64
    }
    if (parsed instanceof BigDecimal) {
      // A double when it is exactly the same number (as a JSON reader would give), else exact.
      BigDecimal number = (BigDecimal) parsed;
      double asDouble = number.doubleValue();
      boolean exact =
          Double.isFinite(asDouble) && new BigDecimal(Double.toString(asDouble)).compareTo(number) == 0;
      return exact ? (Object) asDouble : decimal(number);
    }
    return parsed; // String, Integer, Long, Boolean, null
  }

  private static boolean holdsArrayInArray(Object value, boolean inArray) {
    if (value instanceof List) {
      if (inArray) {
        return true;
      }
      for (Object item : (List<?>) value) {
        if (holdsArrayInArray(item, true)) {
          return true;
        }
      }
    } else if (value instanceof Map) {
      for (Object item : ((Map<?, ?>) value).values()) {
        if (holdsArrayInArray(item, false)) {
          return true;
        }
      }
    }
    return false;
  }

  private static byte[] bytes(ByteBuffer buffer) {
    ByteBuffer copy = buffer.duplicate();
    byte[] bytes = new byte[copy.remaining()];
    copy.get(bytes);
    return bytes;
  }

  @Override
  public ConfigDef config() {
    return CONFIG;
  }

  @Override
  public void close() {}
}
