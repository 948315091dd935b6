# Hearth, shqip.

welcome-title = Mirë se vini në Hearth
welcome-body = Një vend privat vetëm për ju të dy. Mesazhet tuaja shkojnë drejt e nga një pajisje te tjetra, të enkriptuara. Asnjë server nuk i mban kurrë.
welcome-start = Le të fillojmë

setup-title = Rreth jush
setup-name = Emri juaj
setup-language = Gjuha
setup-time-zone = Zona kohore
setup-passphrase = Fjalëkalimi (opsional)
setup-passphrase-repeat = Përsëritni fjalëkalimin
setup-passphrase-help = Me fjalëkalim, asgjë në këtë kompjuter nuk e hap historikun tuaj pa të. Pa fjalëkalim, çelësi ruhet në një skedar që mund ta lexojë vetëm llogaria juaj: kushdo që mund të lexojë skedarët tuaj, mund të lexojë edhe historikun.
setup-create = Krijo profilin tim
error-name-required = Ju lutem shkruani emrin tuaj.
error-passphrase-mismatch = Fjalëkalimet nuk përputhen.
error-time-zone = Kjo nuk është një zonë kohore që e njeh ky kompjuter, p.sh. Europe/Tirane.

unlock-title = Mirë se u kthyet
unlock-passphrase = Fjalëkalimi
unlock-open = Hap
unlock-wrong = Fjalëkalim i gabuar. Asgjë nuk u ndryshua; provoni përsëri.
unlock-locked = Hearth është tashmë i hapur me këtë profil në një dritare tjetër.

pair-title = Gjeni partnerin tuaj
pair-invite = Fto partnerin tim
pair-have-invite = Kam një ftesë
pair-nearby = Afër
pair-invite-help = Dërgojani këtë ftesë partnerit tuaj si të doni. Vlen një herë, { $until }.
until-today = deri në { $time }
until-tomorrow = deri nesër në { $time }
until-date = deri më { $day } { $month } në { $time }
pair-copy = Kopjo
pair-copied = U kopjua
pair-paste-label = Ngjitni ftesën këtu
pair-join = Lidhu
pair-nearby-show = Shfaq një kod
pair-nearby-code-help = Në pajisjen e partnerit, zgjidhni «Afër» dhe shkruani këtë kod.
pair-nearby-this-device = Te partneri, kjo pajisje shfaqet si një pajisje ({ $id }).
pair-nearby-type = Kodi që shfaqet në pajisjen e partnerit
pair-nearby-waiting = Presin të lidhen në këtë rrjet:
pair-nearby-device = një pajisje ({ $id })
pair-nearby-nobody = Askush në këtë rrjet nuk po shfaq ende një kod.
pair-working = Po lidhemi…
pair-failed = Lidhja dështoi: { $reason }
pair-fail-code-mismatch = kodet nuk përputheshin; kontrolloni kodin dhe provoni përsëri.
pair-fail-not-pairing = pajisja tjetër nuk po pret të lidhet.
pair-fail-expired = ky kod ka skaduar; kërkoni një të ri.
pair-fail-too-many-tries = ky kod u provua shumë herë; kërkoni një të ri.
pair-fail-busy = pajisja tjetër po lidhet me dikë tjetër; provoni sërish pas pak.
pair-fail-timeout = pajisja tjetër nuk po përgjigjet më.
pair-fail-abandoned = pajisja tjetër e ndërpreu lidhjen; provoni sërish.
pair-fail-unreachable = pajisja tjetër nuk u arrit ({ $detail }).
pair-fail-protocol = pajisja tjetër dërgoi diçka të papritur.
pair-fail-already-pairing = lidhja po bëhet tashmë; prisni të përfundojë.
pair-fail-bad-invite = kjo nuk është ftesë e vlefshme ({ $detail }).
pair-fail-mailbox-invite = kjo është ftesa e kutisë suaj postare, jo e partnerit; lidhuni me të te Cilësimet, nën Kutia juaj postare.
pair-fail-own-invite = kjo është ftesa juaj; dërgojani partnerit.
pair-fail-no-address = ftesa nuk ka asnjë adresë për të arritur partnerin; kërkoni një të re.
pair-fail-not-a-code = shkruani gjashtë shifrat, ose ngjitni gjithë ftesën.
pair-fail-wrong-code = u provua një kod i gabuar; mbeten { $left } përpjekje.
pair-fail-code-dead = u provua një kod i gabuar; kodi nuk vlen më, krijoni një të ri.

safety-title = Jeni lidhur me { $name }
safety-body = Lexojini këto fjalë njëri-tjetrit në telefon ose pranë njëri-tjetrit. Nëse përputhen, askush nuk është mes jush.
safety-continue = Përputhen
safety-differ = Fjalët ndryshojnë
safety-differ-note = Nëse ndryshojnë, dikush mund të jetë mes jush: lidhja mbyllet në të dyja pajisjet dhe mund të lidheni sërish.

chat-online = në linjë
chat-offline-mailbox = jo i lidhur — mesazhet shkojnë te kutia juaj postare
chat-ended = çiftimi ka mbaruar
chat-offline = jo i lidhur — mesazhet do të presin
chat-nearby = pranë
chat-direct = lidhur drejtpërdrejt
chat-relay = përmes një releje
chat-typing = { $name } po shkruan…
chat-their-time = Ora { $time } për { $name }
chat-day = ditë
chat-night = natë
chat-composer = Mesazh
chat-send = Dërgo
chat-emoji = Emoji
chat-edited = ndryshuar
chat-deleted = Ky mesazh u fshi
chat-queued = në pritje
chat-at-mailbox = në kutinë postare
chat-delivered = dërguar
chat-read = lexuar
chat-react = Reago
chat-react-with = Reago me { $emoji }
chat-reply = Përgjigju
chat-edit = Ndrysho
chat-delete = Fshi
chat-replying-to = Përgjigje për: { $text }
chat-editing = Po ndryshoni mesazhin tuaj
chat-cancel = Anulo
chat-load-earlier = Mesazhet e mëparshme
chat-empty = Përshëndeteni { $name } 👋
chat-new-messages = Mesazhe të reja
chat-settings = Cilësimet

day-today = Sot
day-yesterday = Dje
day-date = { $day } { $month }
month-1 = janar
month-2 = shkurt
month-3 = mars
month-4 = prill
month-5 = maj
month-6 = qershor
month-7 = korrik
month-8 = gusht
month-9 = shtator
month-10 = tetor
month-11 = nëntor
month-12 = dhjetor

settings-title = Cilësimet
settings-theme = Pamja
theme-light = E çelët
theme-dark = E errët
theme-system = Si sistemi
settings-safety-words = Fjalët e sigurisë
settings-unpair-confirm = Kjo e mbyll lidhjen në të dyja pajisjet dhe fshin gjithçka që keni ndarë, këtu dhe në pajisjen e partnerit.
settings-unpair = Mbylle lidhjen
settings-cancel = Anulo
settings-notifications = Shfaq njoftime
settings-start-at-login = Nise Hearth kur hyj në kompjuter
settings-hide-text = Fshihe tekstin e mesazhit në njoftime
settings-save = Ruaj
settings-saved = U ruajt
settings-back = Kthehu te biseda
settings-new-passphrase = Fjalëkalimi i ri (bosh: pa fjalëkalim)
settings-change-passphrase = Ndrysho fjalëkalimin
settings-network = Si gjeni njëri-tjetrin
settings-internet = Edhe përmes internetit (rele dhe takime); joaktiv: vetëm ky rrjet
settings-relays = Relet në përdorim (bartin vetëm të dhëna të shifruara)
settings-no-relays = Ende asnjë rele. Pa të, lidheni vetëm kur njëra anë arrihet drejtpërdrejt.
settings-add-relay = Shto një rele (një adresë që mbaron me /p2p/…)
settings-add = Shto
settings-remove = Hiq
settings-remove-named = Hiq { $relay }
settings-dht = Serverët e takimit
key-protection-passphrase = Historiku juaj është i kyçur me fjalëkalimin tuaj.
key-protection-key-file = Çelësi i historikut tuaj ruhet në një skedar në këtë kompjuter.

notify-hidden = { $count ->
    [one] Një mesazh i ri
   *[other] { $count } mesazhe të reja
}

tray-open = Hap Hearth
tray-quit = Dil nga Hearth
tray-still-running = Hearth vazhdon të punojë te shiriti i sistemit, që mesazhet e partnerit të të vijnë prapë. E mbyll plotësisht nga menyja e tij.
settings-keep-running = Mbaje Hearth të hapur te shiriti i sistemit kur mbyll dritaren
settings-no-tray = Ky desktop nuk ka shirit sistemi: mbyllja e dritares e mbyll Hearth, dhe mesazhet presin derisa ta hapësh sërish.

## Skedarët
file-attach = Bashkëngjit skedarë
file-pick-title = Dërgo skedarë
file-save-title = Ruaj një kopje
file-up = Lart
file-home = Shtëpia
file-path = Dosja
file-name = Emri i skedarit
file-send = Dërgo { $count }
file-save = Ruaj
file-view-once = Shiko një herë
file-expire-never = Mbaje
file-expire-hour = Zhduket 1 orë pas hapjes
file-expire-day = Zhduket 1 ditë pas hapjes
file-screenshot-note = Hearth e fshin nga të dyja pajisjet pasi shihet, por nuk mund të ndalojë një pamje ekrani.
file-open = Hap
file-open-named = Hap { $name }
file-save-as = Ruaj si…
file-pause = Ndalo
file-resume = Shkarko
file-left = edhe { $time }
file-progress = { $done } nga { $total }
file-preparing-mine = Po përgatitet për dërgim…
file-preparing-theirs = Pajisja e partnerit po e përgatit ende…
file-fetch-failed = { $name } nuk u shkarkua: { $detail }
file-unnamed = Një skedar
file-sending = po i dërgohet { $name }
file-veiled = Shiko një herë — hape
file-veiled-expiring = Zhduket pas hapjes — hape
file-veiled-sent = U dërgua për t'u parë një herë
file-veiled-expiring-sent = U dërgua për t'u zhdukur pas hapjes
file-gone-viewed = U hap — u zhduk përgjithmonë
file-gone-expired = Skadoi — u zhduk përgjithmonë
file-missing = nuk është në këtë pajisje
file-no-preview = Nuk ka parapamje për këtë skedar; ruaj një kopje për ta hapur.
file-saved = U ruajt te { $path }
file-drop = Lëshoji skedarët për t'ia dërguar { $name }
file-pasted = Foto e ngjitur
file-paste = Ngjit një foto nga kujtesa
file-paste-none = Në kujtesë nuk ka asnjë foto.
file-folder-missing = Nuk ka dosje { $path }.
file-folder-denied = Nuk keni leje të hapni { $path }.
file-folder-failed = { $path } nuk u hap: { $detail }
file-next = Tjetra
file-previous = E mëparshmja
memories-title = Kujtimet
memories-empty = Fotot dhe skedarët që ndani shfaqen këtu.
memories-back = Biseda

## Numrat, me njësitë si i shkruan shqipja
size-bytes = { $count } B
size-kb = { $value } KB
size-mb = { $value } MB
size-gb = { $value } GB
size-tb = { $value } TB
size-per-second = { $size }/s
duration-seconds = { $seconds } sek
duration-minutes = { $minutes } min
duration-minutes-seconds = { $minutes } min { $seconds } sek
duration-hours = { $hours } orë
duration-hours-minutes = { $hours } orë { $minutes } min

## Dështimet: një hyrje, pastaj arsyeja ($detail)
error-start = Profili nuk u hap: { $detail }
error-connect = Lidhja nuk u krye: { $detail }
error-send = Nuk u dërgua: { $detail }
error-edit = Mesazhi nuk u ndryshua: { $detail }
error-react = Reagimi nuk u shtua: { $detail }
error-delete = Mesazhi nuk u fshi: { $detail }
error-mark-read = Mesazhet nuk u shënuan si të lexuara: { $detail }
error-save-setting = Cilësimi nuk u ruajt: { $detail }
error-status = Gjendja e kësaj pajisjeje nuk u lexua: { $detail }
error-save-profile = Profili nuk u ruajt: { $detail }
error-network = Mënyra si gjeni njëri-tjetrin nuk u ndryshua: { $detail }
error-passphrase = Fjalëkalimi nuk u ndryshua: { $detail }
error-history = Mesazhet nuk u ngarkuan: { $detail }
error-memories = Kujtimet nuk u ngarkuan: { $detail }
error-save-file = Skedari nuk u ruajt: { $detail }
error-open-file = Skedari nuk u hap: { $detail }
error-pause = Shkarkimi nuk u ndal dhe nuk rifilloi: { $detail }
error-invite = Ftesa nuk u krijua: { $detail }
error-nearby-code = Kodi nuk u shfaq: { $detail }
error-engine = Diçka shkoi keq: { $detail }
error-no-profile = fillimisht krijoni profilin tuaj.
error-not-paired = ende nuk jeni lidhur me partnerin.
error-already-paired = jeni lidhur tashmë me partnerin.
error-no-such-message = ai mesazh nuk është më këtu.
error-not-yours = vetëm autori mund ta ndryshojë një mesazh.
error-stopped = motori u ndal; rinisni Hearth.
pair-rejected = Lidhja u mbyll sepse fjalët e sigurisë ndryshonin. Lidhuni sërish, pranë njëri-tjetrit ose në telefonatë.
pair-rejected-by-partner = Pajisja e partnerit tha se fjalët e sigurisë ndryshonin, ndaj lidhja u mbyll. Lidhuni sërish, pranë njëri-tjetrit ose në telefonatë.
error-unpair = Lidhja nuk u mbyll: { $detail }
refused-bad-name = një emër nga 1 deri në 64 shkronja, ju lutem.
refused-bad-language = gjuha duhet të jetë anglisht ose shqip.
refused-unknown-time-zone = { $zone } nuk është zonë kohore që ky kompjuter e njeh.
refused-setting-too-long = ky parametër është shumë i gjatë.
refused-internet-forced-off = Hearth u nis me --no-internet; rinisni pa të fillimisht.
refused-too-many-relays = jo më shumë se { $max } releje; hiqni një fillimisht.
refused-not-reachable = kjo pajisje ende nuk arrihet në asnjë adresë; kontrolloni rrjetin dhe provoni sërish.
refused-empty-text = mesazhi është bosh.
refused-text-too-long = mesazhi është shumë i gjatë.
refused-not-an-emoji = një reagim është një emoji e vetme.
refused-not-partners-message = vetëm mesazhet e partnerit mund të shënohen si të lexuara.
refused-not-a-file = { $path } nuk është skedar.
refused-file-too-large = { $name } është { $size }; mund të dërgohen skedarë deri në 4 GB.
refused-empty-file = { $name } është bosh.
refused-file-changed = { $name } ndryshoi ndërsa po dërgohej; dërgojeni sërish.
refused-view-once-and-expiry = zgjidhni ose shikim një herë ose afat kohor, jo të dyja.
refused-ephemeral-not-saved = skedarët për një shikim dhe ata që zhduken nuk mund të ruhen.
refused-too-large-to-open = është shumë i madh për t'u hapur këtu; ruajeni dhe hapeni me një aplikacion tjetër.
refused-file-deleted = ai skedar është fshirë.
refused-no-file = ai mesazh nuk ka skedar.
refused-view-once-gone = ishte për një shikim dhe u hap; nuk ekziston më.
refused-file-expired = i mbaroi koha; nuk ekziston më.
refused-not-arrived = skedari ende nuk ka mbërritur i tëri.
refused-file-not-here = skedari nuk është në këtë pajisje.
refused-not-arriving = ai skedar nuk po vjen.
refused-damaged = profili është i dëmtuar ({ $detail }).
transfer-no-disk-space = nuk ka hapësirë të mjaftueshme në disk: duhen { $needed }, janë të lira { $free }. Lironi pak hapësirë dhe shtypni shkarko.
transfer-unavailable = pajisja e partnerit nuk mund ta dërgojë tani ({ $detail }); Hearth do të provojë sërish më vonë.
transfer-interrupted = transferimi u ndal ({ $detail }); Hearth do të provojë sërish.
transfer-unreadable = skedari nuk u lexua dot ({ $detail }).

mailbox-title = Kutia juaj postare
mailbox-about = Një kompjuter që të dy e lini të ndezur (hearth mailbox) ruan atë që dërgoni, të mbyllur që të mos e lexojë dot, derisa ta marrë pajisja e partnerit. Përdoreni kur pajisjet tuaja rrallë janë të ndezura në të njëjtën kohë.
mailbox-invite = Ftesa e kutisë postare (hearth-mailbox:…)
mailbox-join = Lidhu me kutinë postare
mailbox-leave = Mos e përdor më kutinë postare
mailbox-reached = { $minutes ->
    [0] U arrit sapo.
   *[other] U arrit për herë të fundit para { $minutes } min.
}
mailbox-to-leave = { $count ->
    [one] Një mesazh ose skedar ende duhet lënë atje: mbajeni Hearth të hapur edhe pak.
   *[other] { $count } mesazhe ose skedarë ende duhet lënë atje: mbajeni Hearth të hapur edhe pak.
}
mailbox-not-reached = Ende e paarritur.
mailbox-unreachable = Nuk arrihet tani: { $detail }
mailbox-waiting = { $count ->
    [one] Një letër pret atje për { $partner }.
   *[other] { $count } letra presin atje për { $partner }.
}
error-mailbox = Kutia postare nuk u rregullua: { $detail }
mailbox-fail-bad-invite = kjo nuk është ftesë kutie postare, ose u dëmtua rrugës; kopjojeni sërish nga kutia postare.
mailbox-fail-partner-invite = kjo është ftesa e partnerit, jo e një kutie postare; çiftohuni me të te ekrani i çiftimit.
mailbox-fail-expired = kjo ftesë e kutisë postare ka skaduar; nisni kutinë postare me --new-invite për një të re.
mailbox-fail-refused = kutia postare e refuzoi këtë ftesë (e gabuar, e skaduar ose e provuar shumë herë); nisni atë me --new-invite për një të re.
mailbox-fail-unreachable = kutia postare nuk u arrit ({ $detail }).

refused-pairing-ended = çiftimi ka mbaruar; çiftohuni sërish për të shkruar.
refused-already-ending = çiftimi po mbaron tashmë.
uncouple-title = Mbyllni çiftimin tonë
uncouple-about = Mbyllet në të dyja pajisjet: tani në këtë, në atë të { $name } kur të arrihet (ose kur ta gjejë fjalën te kutia juaj postare). Asnjëri nga ju nuk mund të shkruajë më nën të.
uncouple-delete = Fshi edhe historikun tonë të përbashkët në të dyja pajisjet
uncouple-honest = Secila pajisje e zbaton; asgjë nuk mund të fshijë kopjet e bëra gjetkë (eksportime, kopje rezervë, pamje ekrani).
uncouple-button = Mbyllni çiftimin tonë…
uncouple-confirm = Po, mbylleni
ended-by-me-pending = Ju e mbyllët çiftimin. Pajisja e { $name } do të njoftohet kur të arrihet.
ended-finish-now = Mbylleni tani, pa pritur
ended-by-me = Ju e mbyllët çiftimin.
ended-by-partner = { $name } e mbylli çiftimin.
ended-done = Historiku juaj mbetet në këtë pajisje, për ta lexuar, derisa të çiftoheni sërish.
ended-pair-anew = Çiftohuni sërish
uncoupled-deleted = Çiftimi ka mbaruar dhe historiku i përbashkët është fshirë në këtë pajisje.
uncoupled-deleted-by-partner = { $name } e mbylli çiftimin dhe kërkoi të fshihet historiku i përbashkët: në këtë pajisje është fshirë.

refused-backup-needs-passphrase = një kopje rezervë ka nevojë për një fjalëkalim që ta shifrojë.
refused-profile-exists = ajo dosje nuk është bosh; riktheni në një të re.
refused-restored-waiting = rikthyer nga një kopje rezervë: Hearth pret të arrijë një herë pajisjen e partnerit para se të shkruajë, që të mos mbishkruhet asgjë që shkruat pas kopjes.
backup-title = Kopje rezervë
backup-about = Gjithçka që ndani (mesazhe dhe skedarë që nuk janë për një shikim as me afat) në një skedar, të shifruar me një fjalëkalim që zgjidhni ju. Ruajeni diku të sigurt; riktheni në një kompjuter të ri me: hearth restore --backup SKEDARI --profile DOSJA.
backup-path = Skedari i kopjes
backup-passphrase = Fjalëkalimi i kopjes
backup-passphrase-repeat = Përsëritni fjalëkalimin e kopjes
backup-button = Bëj kopjen tani
backup-started = Po bëhet kopja…
backup-progress = Po bëhet kopja… { $percent }%
backup-done = Kopja u bë, me { $files } skedarë ({ $size }).
error-backup = Kopja rezervë nuk u bë: { $detail }
backup-fail-not-a-backup = ky nuk është një kopje rezervë e Hearth.
backup-fail-newer = kjo kopje u bë nga një Hearth më i ri; përditësoni Hearth më parë.
backup-fail-passphrase = fjalëkalimi nuk e hap këtë kopje.
backup-fail-damaged = kjo kopje është e dëmtuar ({ $detail }); nuk u rikthye asgjë prej saj.
backup-fail-io = skedari nuk u lexua ose nuk u shkrua: { $detail }

## The couple's days
days-title = Ditët tona
days-hint = Data që i shihni të dy, të ruajtura në pajisjet e të dyve. Secili kujtohet ditën që vjen, sipas orës së vet.
days-together-since = Bashkë që nga (VVVV-MM-DD)
days-meeting = Herën tjetër që takohemi (VVVV-MM-DD)
days-meeting-place = Ku (nuk është e detyrueshme)
days-anniversaries = Data për t’i kujtuar, çdo vit
days-new-date = Data (VVVV-MM-DD)
days-new-title = Çfarë është
days-save = Ruaj ditët tona
days-add = Shto këtë datë
days-remove = Hiq
days-remove-named = Hiq { $title }
days-none = Ende asnjë datë për ta kujtuar.
days-together = { $days ->
    [one] Bashkë prej 1 dite
   *[other] Bashkë prej { $days } ditësh
}
days-until-meeting = { $days ->
    [one] { $place }: edhe 1 ditë
   *[other] { $place }: edhe { $days } ditë
}
days-until-meeting-unnamed = { $days ->
    [one] Edhe 1 ditë dhe takohemi
   *[other] Edhe { $days } ditë dhe takohemi
}
days-meeting-today = Sot takohemi!
days-anniversary-in = { $days ->
    [0] { $title }: sot
    [one] { $title }: nesër
   *[other] { $title }: pas { $days } ditësh
}
reminder-anniversary = { $years ->
    [0] Sot: { $title }
    [one] Sot: { $title }, 1 vit
   *[other] Sot: { $title }, { $years } vjet
}
reminder-together = { $years ->
    [one] Sot mbushim një vit bashkë ❤
   *[other] Sot mbushim { $years } vjet bashkë ❤
}
reminder-meeting = Erdhi dita: sot takohesh me { $name }.
error-days = Ditët nuk u ndryshuan: { $detail }
refused-bad-date = “{ $date }” nuk është datë; shkruaje si VVVV-MM-DD, ndërmjet 1900 dhe 2200.
refused-day-title-too-long = Ky titull është shumë i gjatë.
refused-too-many-days = Deri në { $max } data për t’i kujtuar; hiq një më parë.
refused-no-such-day = Kjo datë nuk është më.

## Moods
mood-button = Si ndihem
mood-title = Si ndihesh sot?
mood-about = Ndahet në bisedë dhe në shiritin më poshtë. E shihni vetëm ju të dy.
mood-note = Disa fjalë (nëse do)
mood-share = Ndaje
mood-strip = Katër javët e fundit
mood-strip-me = Ti
mood-feeling = Ndjenja: { $mood }
mood-joy = Gëzim
mood-loved = Dashuri
mood-calm = Qetësi
mood-excited = Entuziazëm
mood-missing = Mall
mood-tired = Lodhje
mood-low = Trishtim
mood-stressed = Stres
mood-unknown = një ndjenjë që ky version nuk e njeh
error-mood = Ndjenja jote nuk u nda: { $detail }
refused-unknown-mood = “{ $mood }” nuk është një nga ndjenjat.
refused-mood-note-too-long = Ky shënim është shumë i gjatë.

## Boundaries
bounds-title = Kufijtë tanë
bounds-about = Ajo për të cilën keni rënë dakord të dy, e ruajtur në të dyja pajisjet. Në orët tuaja të qeta Hearth i mban njoftimet dhe jua përmbledh kur ato mbarojnë; e lajmëron tjetrin para se të shkruajë, dhe një mesazh i shënuar si urgjent bie gjithsesi. Nuk mund të ndalojë pamjet e ekranit apo kopjet e bëra gjetkë: kjo mbështetet te besimi.
bounds-agreed = Të rëna dakord
bounds-my-quiet = Orët e tua të qeta
bounds-their-quiet = Orët e qeta të { $name }
bounds-my-reach = Si të kontaktohesh
bounds-their-reach = Si të kontaktohet { $name }
bounds-care = Tema për t’u trajtuar me kujdes
bounds-media = Fotot dhe mediat
bounds-hours = { $start }–{ $end }
bounds-none = pa caktuar
bounds-history = { $count ->
    [one] Rënë dakord një herë, së fundi më { $date }
   *[other] Rënë dakord { $count } herë, së fundi më { $date }
}
bounds-they-propose = { $name } propozon:
bounds-accept = Prano
bounds-answer-hint = Ose përgjigju më poshtë me një propozim tëndin.
bounds-waiting = Në pritje që { $name } ta pranojë:
bounds-propose-title = Propozo një ndryshim
bounds-quiet-from = Orët e tua të qeta nga (OO:MM)
bounds-quiet-to = deri (OO:MM)
bounds-propose = Propozo
bounds-sent = U dërgua te { $name }
bounds-partner-quiet = { $name } është në orët e qeta deri në { $until } sipas orës së vet — mesazhi do të presë mëngjesin.
bounds-urgent = Është urgjente
notify-quiet-summary = { $count ->
    [one] 1 mesazh ndërsa pushoje
   *[other] { $count } mesazhe ndërsa pushoje
}
notify-urgent = { $name } — urgjent
error-boundaries = Kufijtë nuk u ndryshuan: { $detail }
refused-bad-quiet-hours = Orët e qeta janë dy kohë të ndryshme, secila si OO:MM (për shembull 22:30).
refused-nothing-to-propose = Për këtë keni rënë dakord tashmë.
refused-boundary-text-too-long = Ky tekst është shumë i gjatë.
refused-no-such-proposal = Ky propozim nuk është më në pritje.

## Check-ins
weekday-mon = Hën
weekday-tue = Mar
weekday-wed = Mër
weekday-thu = Enj
weekday-fri = Pre
weekday-sat = Sht
weekday-sun = Die
checkin-title = Takimet tona të bisedës
checkin-about = Orë kur bini dakord të flisni. Secili kujtohet në të njëjtin çast, sipas orës së vet; ndërrimi i orës verore në secilën anë llogaritet vetë.
checkin-none = Ende asnjë takim bisede.
checkin-every = { $days } në { $time }
checkin-remove = Hiq { $what }
checkin-next = Biseda e radhës: { $when }
checkin-both = { $mine } për ty · { $theirs }
checkin-theirs = { $time } për { $name }
checkin-time = Ora (OO:MM)
checkin-zone = Zona kohore
checkin-new = Një takim i ri bisede, këto ditë:
checkin-add = Shto këtë takim bisede
checkin-now = Erdhi koha për bisedën e { $time } me { $name } ❤
checkin-missed = Ti dhe { $name } e humbët bisedën e { $time }. Disa fjalë tani?
chat-quiet-until = orë të qeta deri në { $until }
error-checkins = Takimet e bisedës nuk u ndryshuan: { $detail }
refused-bad-checkin = Një takim bisede do të paktën një ditë dhe një orë si OO:MM{ $what ->
    [none] .
   *[other] ; “{ $what }” nuk është e tillë.
}
refused-no-such-checkin = Ky takim bisede nuk është më.
refused-too-many-checkins = Deri në { $max } takime bisede; hiq një më parë.
notify-many = { $name }: { $count } mesazhe të reja
notify-file = Dërgoi një skedar: { $name }
bounds-many-waiting = { $name } po fle dhe { $count } mesazhe të tua po presin; do t’i gjejë të gjitha në mëngjes.

## Send later
later-title = Dërgo më vonë
later-write-first = Shkruaj mesazhin më parë.
later-morning = Në mëngjes për { $name } (ora 08:00 atje)
later-after-quiet = Kur të mbarojnë orët e qeta të { $name } ({ $until } atje)
later-at = Në orën (OO:MM, ora jote)
later-schedule = Planifiko
later-scheduled = shfaqet në { $time } ({ $theirs } atje)
later-cancel = Anulo këtë mesazh të planifikuar
refused-bad-schedule-time = Një mesazh mund të planifikohet nga disa sekonda deri në një vit përpara.
refused-no-quiet-hours = Partneri yt nuk ka orë të qeta të rëna dakord.
refused-not-scheduled = Ky mesazh nuk pret më të shfaqet.
bounds-view-once = Fotot dhe skedarët, si parazgjedhje: shiko një herë
bounds-yes = po
bounds-no = jo
file-view-once-agreed = Dërgoje për t’u parë një herë, si u ramë dakord
file-send-to-keep = Dërgoje për ta mbajtur
bounds-history-title = Çfarë keni rënë dakord, ndryshim pas ndryshimi
bounds-proposed-by-me = { $date }: e propozove ti dhe u pranua
bounds-proposed-by-them = { $date }: e propozoi { $name } dhe e pranove
