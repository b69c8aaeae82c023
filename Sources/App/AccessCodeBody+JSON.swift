import LockCloudAPI

/// The access code object (`#/components/schemas/AccessCode`) written by `JSONWriter`: the one
/// writer of a code for the hand-written reads (`GET /access_codes/{id}` and both code lists).
/// Same fields and formats as `AccessCodeBody.encode(to:)`, which the generated routes
/// (create, update) still use; a unit test checks the two agree.
extension AccessCodeBody {
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.member("access_code_id", accessCodeId)
            json.member("lock_id", lockId)
            json.member("owner_id", ownerId)
            json.member("name", name)
            json.member("code", code)
            json.member("type", type)
            json.member("starts_at", startsAt)
            json.member("ends_at", endsAt)
            json.member("status", status)
            json.member("is_offline_access_code", isOfflineAccessCode)
            json.member("offline_access_code_type", offlineAccessCodeType)
            json.member("is_one_time_use", isOneTimeUse)
            json.member("created_at", createdAt)
            json.member("updated_at", updatedAt)
            json.key("errors")
            json.array(errors) { json, issue in
                json.object { json in
                    json.member("error_code", issue.code)
                    json.member("message", issue.message)
                }
            }
            json.key("warnings")
            json.array(warnings) { json, issue in
                json.object { json in
                    json.member("warning_code", issue.code)
                    json.member("message", issue.message)
                }
            }
        }
    }
}

extension AccessCodeListBody {
    /// `{"access_codes": [...], "next_page_cursor": ...}`, each code by `AccessCodeBody.write(to:)`.
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("access_codes")
            json.array(accessCodes) { json, code in code.write(to: &json) }
            json.member("next_page_cursor", nextPageCursor)
        }
    }
}
