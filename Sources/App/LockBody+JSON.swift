import LockCloudAPI

/// The lock object written straight to JSON text, for `LockReadRoute`. Same fields, order and
/// formats as the generated routes' encoding of `LockBody` (every field present, `null` when
/// unknown, timestamps through `StrictTimestampTranscoder`); `make test`'s contract run checks
/// the answers against the spec, and a unit test checks this against JSONEncoder's output.
extension LockBody {
    var jsonText: String {
        var json = JSONText()
        json.field("lock_id", string: lockId)
        json.field("name", string: name)
        json.field("model", string: model)
        json.field("address", string: address)
        json.field("device_type", string: deviceType)
        json.field("online", raw: online ? "true" : "false")
        json.field("battery_level", raw: batteryLevel.map(String.init))
        json.field("signal_quality", raw: signalQuality.map(String.init))
        json.field("location", raw: location.map { "{\"latitude\":\($0.latitude),\"longitude\":\($0.longitude)}" })
        json.field("timezone", string: timezone)
        json.field("bridge_id", string: bridgeId)
        json.field("lock_state", string: lockState)
        json.field("door_state", string: doorState)
        let timestamps = StrictTimestampTranscoder()
        json.field("device_time", string: deviceTime.flatMap { try? timestamps.encode($0) })
        json.field("created_at", string: try? timestamps.encode(createdAt))
        json.field("updated_at", string: try? timestamps.encode(updatedAt))
        let warningObjects = warnings.map { warning in
            var object = JSONText()
            object.field("warning_code", string: warning.warningCode)
            object.field("message", string: warning.message)
            return object.finished()
        }
        json.field("warnings", raw: "[" + warningObjects.joined(separator: ",") + "]")
        json.field("can_remotely_lock", raw: canRemotelyLock ? "true" : "false")
        json.field("can_remotely_unlock", raw: canRemotelyUnlock ? "true" : "false")
        json.field("supported_code_lengths", raw: "[" + supportedCodeLengths.map(String.init).joined(separator: ",") + "]")
        json.field("max_active_codes_supported", raw: String(maxActiveCodesSupported))
        json.field("offline_pin_length", raw: offlinePinLength.map(String.init))
        json.field("offline_time_frame_options", raw: "[" + offlineTimeFrameOptions.map(\.jsonText).joined(separator: ",") + "]")
        json.field("can_program_online_access_codes", raw: canProgramOnlineAccessCodes ? "true" : "false")
        json.field("can_program_offline_access_codes", raw: canProgramOfflineAccessCodes ? "true" : "false")
        json.field("code_length_min", raw: String(codeLengthMin))
        json.field("code_length_max", raw: String(codeLengthMax))
        json.field("max_access_codes", raw: String(maxAccessCodes))
        return json.finished()
    }
}

extension OfflineTimeFrameOptionBody {
    /// The same fields as its `encode(to:)`, nulls included.
    var jsonText: String {
        var json = JSONText()
        json.field("offline_access_code_type", string: offlineAccessCodeType)
        json.field("display_name", string: displayName)
        json.field("min_duration", string: minDuration)
        json.field("max_duration", string: maxDuration)
        json.field("duration_step", string: durationStep)
        json.field("max_codes_per_period", raw: String(maxCodesPerPeriod))
        json.field("period", string: period)
        json.field("is_one_time_use", raw: isOneTimeUse ? "true" : "false")
        return json.finished()
    }
}

/// A JSON object built field by field. Strings are escaped as RFC 8259 requires (quote,
/// backslash, control characters); everything else passes through as UTF-8, and `/` is not
/// escaped, as with the generated routes' `.withoutEscapingSlashes`.
struct JSONText {
    private var text = "{"

    mutating func field(_ name: String, raw value: String?) {
        if text.utf8.count > 1 { text += "," }
        text += "\"\(name)\":"
        text += value ?? "null"
    }

    mutating func field(_ name: String, string value: String?) {
        field(name, raw: value.map(Self.quoted))
    }

    func finished() -> String { text + "}" }

    static func quoted(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
