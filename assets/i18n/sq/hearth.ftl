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
pair-invite-help = Dërgojani këtë ftesë partnerit tuaj si të doni. Vlen një herë, deri më { $expires }.
pair-copy = Kopjo
pair-copied = U kopjua
pair-paste-label = Ngjitni ftesën këtu
pair-join = Lidhu
pair-nearby-show = Shfaq një kod
pair-nearby-code-help = Në pajisjen e partnerit, zgjidhni «Afër» dhe shkruani këtë kod.
pair-nearby-type = Kodi që shfaqet në pajisjen e partnerit
pair-nearby-waiting = Presin të lidhen në këtë rrjet:
pair-nearby-nobody = Askush në këtë rrjet nuk po shfaq ende një kod.
pair-working = Po lidhemi…
pair-failed = Lidhja dështoi: { $reason }

safety-title = Jeni lidhur me { $name }
safety-body = Lexojini këto fjalë njëri-tjetrit në telefon ose pranë njëri-tjetrit. Nëse përputhen, askush nuk është mes jush.
safety-continue = Përputhen

chat-online = në linjë
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
chat-delivered = dërguar
chat-read = lexuar
chat-react = Reago
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
settings-notifications = Shfaq njoftime
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
settings-dht = Serverët e takimit
key-protection-passphrase = Historiku juaj është i kyçur me fjalëkalimin tuaj.
key-protection-key-file = Çelësi i historikut tuaj ruhet në një skedar në këtë kompjuter.

notify-hidden = { $count ->
    [one] Një mesazh i ri
   *[other] { $count } mesazhe të reja
}

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
file-save-as = Ruaj si…
file-pause = Ndalo
file-resume = Shkarko
file-left = edhe { $time }
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
file-next = Tjetra
file-previous = E mëparshmja
memories-title = Kujtimet
memories-empty = Fotot dhe skedarët që ndani shfaqen këtu.
memories-back = Biseda
