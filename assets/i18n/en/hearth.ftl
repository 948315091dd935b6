# Hearth, English.

welcome-title = Welcome to Hearth
welcome-body = A private place for the two of you. Your messages go straight from one device to the other, encrypted. No server ever holds them.
welcome-start = Let's begin

setup-title = About you
setup-name = Your name
setup-language = Language
setup-time-zone = Time zone
setup-passphrase = Passphrase (optional)
setup-passphrase-repeat = Repeat the passphrase
setup-passphrase-help = With a passphrase, nothing on this computer opens your history without it. Without one, the key is kept in a file only your account can read: anyone who can read your files can read your history.
setup-create = Create my profile
error-name-required = Please enter your name.
error-passphrase-mismatch = The passphrases do not match.
error-time-zone = That is not a time zone this computer knows, e.g. Europe/Tirane.

unlock-title = Welcome back
unlock-passphrase = Passphrase
unlock-open = Open
unlock-wrong = Wrong passphrase. Nothing was changed; try again.
unlock-locked = Hearth is already open with this profile in another window.

pair-title = Find your partner
pair-invite = Invite my partner
pair-have-invite = I have an invite
pair-nearby = Nearby
pair-invite-help = Send this invite to your partner any way you like. It works once, until { $expires }.
pair-copy = Copy
pair-copied = Copied
pair-paste-label = Paste the invite here
pair-join = Pair
pair-nearby-show = Show a code
pair-nearby-code-help = On your partner's device, choose Nearby and type this code.
pair-nearby-type = Code shown on your partner's device
pair-nearby-waiting = Waiting to pair on this network:
pair-nearby-nobody = No one on this network is showing a code yet.
pair-working = Pairing…
pair-failed = Pairing failed: { $reason }

safety-title = You're paired with { $name }
safety-body = Read these words to each other on a call or side by side. If they match, no one is between you.
safety-continue = They match

chat-online = online
chat-offline = not connected — messages will wait
chat-nearby = nearby
chat-direct = connected directly
chat-relay = via relay
chat-typing = { $name } is typing…
chat-their-time = { $time } for { $name }
chat-day = day
chat-night = night
chat-composer = Message
chat-send = Send
chat-emoji = Emoji
chat-edited = edited
chat-deleted = This message was deleted
chat-queued = waiting
chat-delivered = delivered
chat-read = read
chat-react = React
chat-reply = Reply
chat-edit = Edit
chat-delete = Delete
chat-replying-to = Replying to: { $text }
chat-editing = Editing your message
chat-cancel = Cancel
chat-load-earlier = Earlier messages
chat-empty = Say hello to { $name } 👋
chat-new-messages = New messages
chat-settings = Settings

day-today = Today
day-yesterday = Yesterday
day-date = { $month } { $day }
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

settings-title = Settings
settings-theme = Theme
theme-light = Light
theme-dark = Dark
theme-system = Follow the system
settings-safety-words = Safety words
settings-notifications = Show notifications
settings-hide-text = Hide message text in notifications
settings-save = Save
settings-saved = Saved
settings-back = Back to chat
settings-new-passphrase = New passphrase (empty: none)
settings-change-passphrase = Change passphrase
settings-network = Finding each other
settings-internet = Across the internet too (relays and rendezvous); off: this network only
settings-relays = Relays in use (they carry only encrypted data)
settings-no-relays = No relay yet. Without one, the two of you connect only when one side can be reached directly.
settings-add-relay = Add a relay (an address ending in /p2p/…)
settings-add = Add
settings-remove = Remove
settings-dht = Rendezvous servers
key-protection-passphrase = Your history is locked with your passphrase.
key-protection-key-file = Your history's key is kept in a file on this computer.

notify-hidden = { $count ->
    [one] A new message
   *[other] { $count } new messages
}

## Files
file-attach = Attach files
file-pick-title = Send files
file-save-title = Save a copy
file-up = Up
file-home = Home
file-path = Folder
file-name = File name
file-send = Send { $count }
file-save = Save
file-view-once = View once
file-expire-never = Keep
file-expire-hour = Gone 1 hour after opening
file-expire-day = Gone 1 day after opening
file-screenshot-note = Hearth deletes it from both devices once seen, but cannot stop a screenshot.
file-open = Open
file-save-as = Save as…
file-pause = Pause
file-resume = Download
file-left = { $time } left
file-sending = sending to { $name }
file-veiled = View once — open
file-veiled-expiring = Disappears after opening — open
file-veiled-sent = Sent to be seen once
file-veiled-expiring-sent = Sent to disappear after opening
file-gone-viewed = Opened — gone for good
file-gone-expired = Expired — gone for good
file-missing = not on this device
file-no-preview = No preview for this file; save a copy to open it.
file-saved = Saved to { $path }
file-drop = Drop files to send them to { $name }
file-pasted = Pasted picture
file-paste = Paste a picture from the clipboard
file-paste-none = There is no picture on the clipboard.
file-next = Next
file-previous = Previous
memories-title = Memories
memories-empty = Photos and files you share appear here.
memories-back = Chat
