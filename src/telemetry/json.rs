//! The JSON log line, written straight out: `{"level":"INFO","message":"…",…fields,
//! "span":{…the current span's fields,"name":"…"}}`, the shape of tracing-subscriber's own JSON
//! format with flattened events and the current span, for about half its work: that format
//! gathers each event's fields into a map of JSON values before writing them, and parses the
//! current span's fields back from JSON for every line (docs/performance.md).

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One event as one JSON object on its own line.
pub struct JsonLine;

/// A span's fields as the inside of a JSON object (`"a":1,"b":"x"`), kept with the span and
/// written as they are into each line logged inside it.
pub struct JsonFields;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str("{\"level\":\"")?;
        writer.write_str(event.metadata().level().as_str())?;
        writer.write_char('"')?;
        let mut fields = FieldWriter::new(&mut writer, true);
        event.record(&mut fields);
        fields.result?;
        if let Some(span) = ctx.lookup_current() {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(recorded) = extensions.get::<FormattedFields<N>>()
                && !recorded.is_empty()
            {
                writer.write_str(recorded)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            write_json_str(&mut writer, span.name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = FieldWriter::new(&mut writer, false);
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut writer = current.as_writer();
        let mut visitor = FieldWriter::new(&mut writer, !first);
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field it visits as `"name":value`, separated by commas.
struct FieldWriter<'a, 'w> {
    writer: &'a mut Writer<'w>,
    /// Whether a comma goes before the next field.
    comma: bool,
    result: fmt::Result,
}

impl<'a, 'w> FieldWriter<'a, 'w> {
    fn new(writer: &'a mut Writer<'w>, comma: bool) -> Self {
        Self {
            writer,
            comma,
            result: Ok(()),
        }
    }

    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'w>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if self.comma {
                self.writer.write_char(',')?;
            }
            self.comma = true;
            write_json_str(self.writer, field.name())?;
            self.writer.write_char(':')?;
            value(self.writer)
        })();
    }
}

impl Visit for FieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |w| write_json_str(w, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.field(field, |w| write!(w, "{value}"));
        } else {
            self.field(field, |w| w.write_str("null"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value}")?;
            w.write_char('"')
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

/// `text` as a JSON string, quotes included.
fn write_json_str(writer: &mut impl Write, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    Escaped(writer).write_str(text)?;
    writer.write_char('"')
}

/// A writer that escapes what goes through it for the inside of a JSON string.
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(text.get(plain..at).unwrap_or_default())?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = at + 1;
        }
        self.0.write_str(text.get(plain..).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};
    use tracing::subscriber::with_default;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What `log` writes through the JSON line format, one parsed value per line.
    fn logged(log: impl FnOnce()) -> Vec<Value> {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_max_level(tracing::Level::TRACE)
            .fmt_fields(JsonFields)
            .event_format(JsonLine)
            .finish();
        with_default(subscriber, log);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'), "{text}");
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn an_event_is_one_json_object_with_its_level_message_and_fields() {
        let lines = logged(|| {
            tracing::info!(
                count = 3,
                ratio = 0.5,
                ok = true,
                minus = -2,
                name = "Anna",
                "user upserted"
            );
        });
        assert_eq!(
            lines,
            vec![json!({
                "level": "INFO", "message": "user upserted", "count": 3, "ratio": 0.5,
                "ok": true, "minus": -2, "name": "Anna"
            })]
        );
    }

    #[test]
    fn text_that_needs_escaping_survives_as_written() {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} Ünïcødé 🙂 </script>";
        let lines = logged(|| {
            tracing::warn!(value = nasty, shown = %nasty, debugged = ?nasty, "{nasty}");
        });
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], nasty);
        assert_eq!(line["value"], nasty);
        assert_eq!(line["shown"], nasty);
        assert_eq!(line["debugged"], format!("{nasty:?}"));
    }

    #[test]
    fn lines_inside_a_span_carry_its_fields_and_name() {
        let lines = logged(|| {
            tracing::info!("before");
            let outer = tracing::info_span!("outer", job = "sync");
            let _outer = outer.enter();
            let span = tracing::info_span!(
                "request",
                request_id = "0f1e-\"id\"",
                tries = tracing::field::Empty
            );
            let _entered = span.enter();
            span.record("tries", 2);
            tracing::error!(error = "boom", "request answered");
            let bare = tracing::info_span!("bare");
            let _bare = bare.enter();
            tracing::debug!("inside a span without fields");
        });
        assert_eq!(lines[0], json!({"level": "INFO", "message": "before"}));
        assert_eq!(
            lines[1],
            json!({
                "level": "ERROR", "message": "request answered", "error": "boom",
                "span": {"request_id": "0f1e-\"id\"", "tries": 2, "name": "request"}
            })
        );
        assert_eq!(lines[2]["span"], json!({"name": "bare"}));
    }

    #[test]
    fn errors_and_odd_numbers_are_valid_json() {
        let error = std::io::Error::other("disk \"full\"");
        let lines = logged(|| {
            tracing::error!(
                error = &error as &(dyn std::error::Error + 'static),
                nan = f64::NAN,
                big = u64::MAX,
                "failed"
            );
        });
        assert_eq!(lines[0]["error"], "disk \"full\"");
        assert_eq!(lines[0]["nan"], Value::Null);
        assert_eq!(lines[0]["big"], json!(u64::MAX));
    }
}
