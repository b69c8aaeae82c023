package import Foundation

/// `#/components/schemas/LockActionStatus`, hand-written so `custom_id`, `error_code`,
/// `message`, `performed_via` and `completed_at` are sent as `null` until they have values.
package struct LockActionBody: Codable, Hashable, Sendable {
    package var actionId: String
    package var customId: String?
    package var status: String
    package var lockId: String
    package var action: String
    package var errorCode: String?
    /// Why it failed, in words; set after `init` (null unless failed).
    package var message: String?
    package var performedVia: String?
    package var createdAt: Date
    package var completedAt: Date?

    package init(
        actionId: String, customId: String?, status: String, lockId: String, action: String, errorCode: String?,
        performedVia: String?, createdAt: Date, completedAt: Date?
    ) {
        self.actionId = actionId
        self.customId = customId
        self.status = status
        self.lockId = lockId
        self.action = action
        self.errorCode = errorCode
        self.performedVia = performedVia
        self.createdAt = createdAt
        self.completedAt = completedAt
    }

    package enum CodingKeys: String, CodingKey {
        case actionId = "action_id", customId = "custom_id", status, lockId = "lock_id", action
        case errorCode = "error_code", message, performedVia = "performed_via", createdAt = "created_at"
        case completedAt = "completed_at"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(actionId, forKey: .actionId)
        try container.encode(customId, forKey: .customId)
        try container.encode(status, forKey: .status)
        try container.encode(lockId, forKey: .lockId)
        try container.encode(action, forKey: .action)
        try container.encode(errorCode, forKey: .errorCode)
        try container.encode(message, forKey: .message)
        try container.encode(performedVia, forKey: .performedVia)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(completedAt, forKey: .completedAt)
    }
}
