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
pair-invite-help = Send this invite to your partner any way you like. It works once, { $until }.
until-today = until { $time }
until-tomorrow = until tomorrow at { $time }
until-date = until { $month } { $day } at { $time }
pair-copy = Copy
pair-copied = Copied
pair-paste-label = Paste the invite here
pair-join = Pair
pair-nearby-show = Show a code
pair-nearby-code-help = On your partner's device, choose Nearby and type this code.
pair-nearby-this-device = On theirs, this device is listed as a device ({ $id }).
pair-nearby-type = Code shown on your partner's device
pair-nearby-waiting = Waiting to pair on this network:
pair-nearby-device = a device ({ $id })
pair-nearby-nobody = No one on this network is showing a code yet.
pair-working = Pairing…
pair-failed = Pairing failed: { $reason }
pair-fail-code-mismatch = the codes did not match; check the code and try again.
pair-fail-not-pairing = the other device is not waiting to pair.
pair-fail-expired = this code has expired; ask for a new one.
pair-fail-too-many-tries = this code was tried too many times; ask for a new one.
pair-fail-busy = the other device is busy pairing; try again in a moment.
pair-fail-timeout = the other device stopped answering.
pair-fail-abandoned = the other device broke off the pairing; try again.
pair-fail-unreachable = could not reach the other device ({ $detail }).
pair-fail-protocol = the other device sent something unexpected.
pair-fail-already-pairing = already pairing; wait for it to finish.
pair-fail-bad-invite = this is not a valid invite ({ $detail }).
pair-fail-mailbox-invite = this is your mailbox's invite, not your partner's; join it in Settings, under Your mailbox.
pair-fail-own-invite = this is your own invite; send it to your partner.
pair-fail-no-address = the invite has no address to reach your partner at; ask for a new one.
pair-fail-not-a-code = enter the six digits, or paste the whole invite.
pair-fail-wrong-code = a wrong code was tried; { $left } tries left.
pair-fail-code-dead = a wrong code was tried; the code no longer works, make a new one.

safety-title = You're paired with { $name }
safety-body = Read these words to each other on a call or side by side. If they match, no one is between you.
safety-continue = They match
safety-differ = The words differ
safety-differ-note = If they differ, someone may be between you: the pairing ends on both devices and you can pair again.

chat-online = online
chat-offline-mailbox = not connected — messages go to your mailbox
chat-ended = the pairing has ended
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
chat-at-mailbox = at the mailbox
chat-delivered = delivered
chat-read = read
chat-react = React
chat-react-with = React { $emoji }
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
settings-unpair-confirm = This ends the pairing on both devices and deletes everything you shared, here and on your partner's device.
settings-unpair = End the pairing
settings-cancel = Cancel
settings-notifications = Show notifications
settings-start-at-login = Start Hearth when I log in
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
settings-remove-named = Remove { $relay }
settings-dht = Rendezvous servers
key-protection-passphrase = Your history is locked with your passphrase.
key-protection-key-file = Your history's key is kept in a file on this computer.

notify-hidden = { $count ->
    [one] A new message
   *[other] { $count } new messages
}

tray-open = Open Hearth
tray-quit = Quit Hearth
tray-still-running = Hearth is still running in the tray, so your partner's messages still reach you. Quit it from the tray's menu.
settings-keep-running = Keep Hearth running in the tray when I close the window
settings-no-tray = This desktop has no tray: closing the window quits Hearth, and messages wait until it runs again.

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
file-open-named = Open { $name }
file-save-as = Save as…
file-pause = Pause
file-resume = Download
file-left = { $time } left
file-progress = { $done } of { $total }
file-preparing-mine = Preparing to send…
file-preparing-theirs = Your partner's device is still preparing it…
file-fetch-failed = Could not download { $name }: { $detail }
file-unnamed = a file
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
file-folder-missing = There is no folder { $path }.
file-folder-denied = You may not open { $path }.
file-folder-failed = Could not open { $path }: { $detail }
file-next = Next
file-previous = Previous
memories-title = Memories
memories-empty = Photos and files you share appear here.
memories-back = Chat

## Numbers, with the units each language writes
size-bytes = { $count } B
size-kb = { $value } KB
size-mb = { $value } MB
size-gb = { $value } GB
size-tb = { $value } TB
size-per-second = { $size }/s
duration-seconds = { $seconds } s
duration-minutes = { $minutes } min
duration-minutes-seconds = { $minutes } min { $seconds } s
duration-hours = { $hours } h
duration-hours-minutes = { $hours } h { $minutes } min

## Failures: a lead-in, then why ($detail)
error-start = Could not open your profile: { $detail }
error-connect = Could not connect: { $detail }
error-send = Could not send: { $detail }
error-edit = Could not edit the message: { $detail }
error-react = Could not add the reaction: { $detail }
error-delete = Could not delete the message: { $detail }
error-mark-read = Could not mark the messages read: { $detail }
error-save-setting = Could not save the setting: { $detail }
error-status = Could not read this device's state: { $detail }
error-save-profile = Could not save your profile: { $detail }
error-network = Could not change how you find each other: { $detail }
error-passphrase = Could not change the passphrase: { $detail }
error-history = Could not load the messages: { $detail }
error-memories = Could not load Memories: { $detail }
error-save-file = Could not save the file: { $detail }
error-open-file = Could not open the file: { $detail }
error-pause = Could not pause or resume the download: { $detail }
error-invite = Could not make an invite: { $detail }
error-nearby-code = Could not show a code: { $detail }
error-engine = Something went wrong: { $detail }
error-no-profile = set up your profile first.
error-not-paired = you are not paired yet.
error-already-paired = you are already paired.
error-no-such-message = that message is no longer here.
error-not-yours = only its author can change a message.
error-stopped = the engine has stopped; restart Hearth.
pair-rejected = The pairing was ended because the safety words differed. Pair again, side by side or on a call.
pair-rejected-by-partner = Your partner's device said the safety words differed, so the pairing was ended. Pair again, side by side or on a call.
error-unpair = Could not end the pairing: { $detail }
refused-bad-name = a name of 1 to 64 characters, please.
refused-bad-language = the language must be English or Albanian.
refused-unknown-time-zone = { $zone } is not a time zone this computer knows.
refused-setting-too-long = that setting is too long.
refused-internet-forced-off = Hearth was started with --no-internet; restart it without that first.
refused-too-many-relays = at most { $max } relays; remove one first.
refused-not-reachable = this device cannot be reached on any address yet; check the network and try again.
refused-empty-text = the message is empty.
refused-text-too-long = the message is too long.
refused-not-an-emoji = a reaction is one emoji.
refused-not-partners-message = only your partner's messages can be marked read.
refused-not-a-file = { $path } is not a file.
refused-file-too-large = { $name } is { $size }; files up to 4 GB can be sent.
refused-empty-file = { $name } is empty.
refused-file-changed = { $name } changed while it was being sent; send it again.
refused-view-once-and-expiry = choose view-once or a time limit, not both.
refused-ephemeral-not-saved = view-once and disappearing files cannot be saved.
refused-too-large-to-open = it is too large to open here; save it and open it with another app.
refused-file-deleted = that file was deleted.
refused-no-file = that message has no file.
refused-view-once-gone = it was view-once and has been opened; it is gone.
refused-file-expired = its time is up; it is gone.
refused-not-arrived = the file has not fully arrived yet.
refused-file-not-here = the file is not on this device.
refused-not-arriving = that file is not arriving.
refused-damaged = the profile is damaged ({ $detail }).
transfer-no-disk-space = not enough free disk space: { $needed } needed, { $free } free. Free some and press download.
transfer-unavailable = your partner's device cannot send it right now ({ $detail }); Hearth will try again later.
transfer-interrupted = the transfer stopped ({ $detail }); Hearth will try again.
transfer-unreadable = the file could not be read ({ $detail }).

mailbox-title = Your mailbox
mailbox-about = A computer the two of you leave on (hearth mailbox) keeps what you send, sealed so that it cannot read it, until your partner's device collects it. Use one when your devices are rarely on at the same time.
mailbox-invite = Mailbox invite (hearth-mailbox:…)
mailbox-join = Join the mailbox
mailbox-leave = Stop using the mailbox
mailbox-reached = { $minutes ->
    [0] Reached just now.
   *[other] Last reached { $minutes } min ago.
}
mailbox-to-leave = { $count ->
    [one] One message or file is still to leave there: keep Hearth open a moment.
   *[other] { $count } messages or files are still to leave there: keep Hearth open a moment.
}
mailbox-not-reached = Not reached yet.
mailbox-unreachable = Cannot reach it right now: { $detail }
mailbox-waiting = { $count ->
    [one] One letter waits there for { $partner }.
   *[other] { $count } letters wait there for { $partner }.
}
error-mailbox = Could not set up the mailbox: { $detail }
mailbox-fail-bad-invite = this is not a mailbox invite, or it was damaged on the way; copy it again from the mailbox.
mailbox-fail-partner-invite = this is your partner's invite, not a mailbox's; pair with it on the pairing screen.
mailbox-fail-expired = this mailbox invite has expired; start the mailbox with --new-invite for a new one.
mailbox-fail-refused = the mailbox turned this invite down (wrong, expired, or tried too often); start it with --new-invite for a new one.
mailbox-fail-unreachable = the mailbox could not be reached ({ $detail }).

refused-pairing-ended = the pairing has ended; pair anew to write again.
refused-already-ending = the pairing is already ending.
uncouple-title = End our pairing
uncouple-about = It ends on both devices: now on this one, on { $name }'s when it is reached (or finds the word at your mailbox). Neither of you can write under it again.
uncouple-delete = Also delete our shared history on both devices
uncouple-honest = Each device obeys; nothing can erase copies made elsewhere (exports, backups, screenshots).
uncouple-button = End our pairing…
uncouple-confirm = Yes, end it
ended-by-me-pending = You ended the pairing. { $name }'s device will be told when it is reached.
ended-finish-now = End it now, without waiting
ended-by-me = You ended the pairing.
ended-by-partner = { $name } ended the pairing.
ended-done = Your history stays on this device, to read, until you pair anew.
ended-pair-anew = Pair anew
uncoupled-deleted = The pairing has ended, and the shared history is deleted on this device.
uncoupled-deleted-by-partner = { $name } ended the pairing and asked for the shared history to be deleted: it is deleted on this device.

refused-backup-needs-passphrase = a backup needs a passphrase to be encrypted under.
refused-profile-exists = that folder is not empty; restore into a new one.
refused-restored-waiting = restored from a backup: Hearth waits to reach your partner's device once before writing, so nothing you wrote after the backup is overwritten.
backup-title = Backup
backup-about = Everything you share (messages and files that are neither view-once nor expiring) in one file, encrypted under a passphrase you choose. Keep it somewhere safe; restore it on a new computer with: hearth restore --backup FILE --profile DIR.
backup-path = Backup file
backup-passphrase = The backup's passphrase
backup-passphrase-repeat = Repeat the backup's passphrase
backup-button = Back up now
backup-started = Backing up…
backup-progress = Backing up… { $percent }%
backup-done = Backed up, { $files } files included ({ $size }).
error-backup = Could not back up: { $detail }
backup-fail-not-a-backup = this is not a Hearth backup.
backup-fail-newer = this backup was made by a newer Hearth; update Hearth first.
backup-fail-passphrase = the passphrase does not open this backup.
backup-fail-damaged = this backup is damaged ({ $detail }); nothing was restored from it.
backup-fail-io = the file could not be read or written: { $detail }

## The couple's days
days-title = Our days
days-hint = Dates you both see, kept on both your devices. Each of you is reminded on the day, in your own time zone.
days-together-since = Together since (YYYY-MM-DD)
days-meeting = Next time we meet (YYYY-MM-DD)
days-meeting-place = Where (optional)
days-anniversaries = Dates to remember, every year
days-new-date = Date (YYYY-MM-DD)
days-new-title = What it is
days-save = Save our days
days-add = Add this date
days-remove = Remove
days-remove-named = Remove { $title }
days-none = No dates to remember yet.
days-together = { $days ->
    [one] Together 1 day
   *[other] Together { $days } days
}
days-until-meeting = { $days ->
    [one] 1 day until { $place }
   *[other] { $days } days until { $place }
}
days-until-meeting-unnamed = { $days ->
    [one] 1 day until we meet
   *[other] { $days } days until we meet
}
days-meeting-today = We meet today!
days-anniversary-in = { $days ->
    [0] { $title }: today
    [one] { $title }: tomorrow
   *[other] { $title }: in { $days } days
}
reminder-anniversary = { $years ->
    [0] Today: { $title }
    [one] Today: { $title }, 1 year
   *[other] Today: { $title }, { $years } years
}
reminder-together = { $years ->
    [one] One year together today ❤
   *[other] { $years } years together today ❤
}
reminder-meeting = The day has come: you meet { $name } today.
error-days = Your days were not changed: { $detail }
refused-bad-date = “{ $date }” is not a date; write it as YYYY-MM-DD, between 1900 and 2200.
refused-day-title-too-long = That title is too long.
refused-too-many-days = At most { $max } dates to remember; remove one first.
refused-no-such-day = That date is no longer there.

## Moods
mood-button = How I feel
mood-title = How do you feel today?
mood-about = Shared in the chat and on the strip below. Only the two of you see it.
mood-note = A few words (optional)
mood-share = Share
mood-strip = The last four weeks
mood-strip-me = You
mood-feeling = Feeling: { $mood }
mood-joy = Joyful
mood-loved = Loved
mood-calm = Calm
mood-excited = Excited
mood-missing = Missing you
mood-tired = Tired
mood-low = Low
mood-stressed = Stressed
mood-unknown = a mood this version does not know
error-mood = Your mood was not shared: { $detail }
refused-unknown-mood = “{ $mood }” is not one of the moods.
refused-mood-note-too-long = That note is too long.

## Boundaries
bounds-title = Our boundaries
bounds-about = What you both agreed, kept on both your devices. In your quiet hours Hearth holds notifications and sums them up when the hours end; it tells the other before they write, and a message marked urgent still rings. It cannot stop screenshots or copies made elsewhere: that rests on trust.
bounds-agreed = Agreed
bounds-my-quiet = Your quiet hours
bounds-their-quiet = { $name }'s quiet hours
bounds-my-reach = How to reach you
bounds-their-reach = How to reach { $name }
bounds-care = Topics to handle with care
bounds-media = Photos and media
bounds-hours = { $start }–{ $end }
bounds-none = not set
bounds-history = { $count ->
    [one] Agreed once, last on { $date }
   *[other] Agreed { $count } times, last on { $date }
}
bounds-they-propose = { $name } proposes:
bounds-accept = Accept
bounds-answer-hint = Or answer with a proposal of your own below.
bounds-waiting = Waiting for { $name } to accept:
bounds-propose-title = Propose a change
bounds-quiet-from = Your quiet hours from (HH:MM)
bounds-quiet-to = to (HH:MM)
bounds-propose = Propose
bounds-sent = Sent to { $name }
bounds-partner-quiet = { $name } is in quiet hours until { $until } their time — it will wait for their morning.
bounds-urgent = It's urgent
notify-quiet-summary = { $count ->
    [one] 1 message while you rested
   *[other] { $count } messages while you rested
}
notify-urgent = { $name } — urgent
error-boundaries = The boundaries were not changed: { $detail }
refused-bad-quiet-hours = Quiet hours are two different times, each as HH:MM (for example 22:30).
refused-nothing-to-propose = That is what you already agreed.
refused-boundary-text-too-long = That text is too long.
refused-no-such-proposal = That proposal is no longer waiting.

## Check-ins
weekday-mon = Mon
weekday-tue = Tue
weekday-wed = Wed
weekday-thu = Thu
weekday-fri = Fri
weekday-sat = Sat
weekday-sun = Sun
checkin-title = Our check-ins
checkin-about = Times you agree to talk. Each of you is reminded at the same moment, on your own clock; daylight saving on either side is taken care of.
checkin-none = No check-ins yet.
checkin-every = { $days } at { $time }
checkin-remove = Remove { $what }
checkin-next = Next check-in: { $when }
checkin-both = { $mine } for you · { $theirs }
checkin-theirs = { $time } for { $name }
checkin-time = Time (HH:MM)
checkin-zone = Time zone
checkin-new = A new check-in, on these days:
checkin-add = Add this check-in
checkin-now = Time for your { $time } check-in with { $name } ❤
checkin-missed = You and { $name } missed your { $time } check-in. A few words now?
chat-quiet-until = quiet hours until { $until }
error-checkins = The check-ins were not changed: { $detail }
refused-bad-checkin = A check-in needs at least one day and a time as HH:MM{ $what ->
    [none] .
   *[other] ; “{ $what }” is not one.
}
refused-no-such-checkin = That check-in is no longer there.
refused-too-many-checkins = At most { $max } check-ins; remove one first.
notify-many = { $name }: { $count } new messages
notify-file = Sent a file: { $name }
bounds-many-waiting = { $name } is asleep and { $count } of your messages are waiting; they will all be there in the morning.

## Send later
later-title = Send later
later-write-first = Write the message first.
later-morning = At { $name }'s morning (08:00 their time)
later-after-quiet = When { $name }'s quiet hours end ({ $until } their time)
later-at = At (HH:MM, your time)
later-schedule = Schedule
later-scheduled = shows at { $time } ({ $theirs } their time)
later-cancel = Cancel this scheduled message
refused-bad-schedule-time = A message can be scheduled from a few seconds to a year ahead.
refused-no-quiet-hours = Your partner has no agreed quiet hours.
refused-not-scheduled = That message is not waiting to be shown any more.
bounds-view-once = Photos and files view-once by default
bounds-yes = yes
bounds-no = no
file-view-once-agreed = Send view-once, as agreed
file-send-to-keep = Send to keep
bounds-history-title = What you agreed, change by change
bounds-proposed-by-me = { $date }: you proposed, and it was accepted
bounds-proposed-by-them = { $date }: { $name } proposed, and you accepted
