; Inno Setup script for OCTGuard (Windows). UNTESTED: written on Linux, where
; neither the Windows build nor Inno Setup can run. See docs/install.md.
;
; 1. On Windows, in the project's Python 3.11 environment:
;        pip install .[build]
;        pyinstaller --noconfirm build.spec
;    This makes dist\OCTGuard\ with OCTGuard.exe (windowed) and
;    octguard-cli.exe (console: smoke, predict, ...). PyInstaller turns
;    resources\octguard.png into the .exe icon (needs Pillow).
; 2. Make resources\octguard.ico for the installer itself, e.g.
;        python -c "from PIL import Image; Image.open('resources/octguard.png').save('resources/octguard.ico', sizes=[(16,16),(32,32),(48,48),(256,256)])"
; 3. iscc with the version from core/__init__.py (the one place it lives):
;        for /f %v in ('python -c "import core; print(core.__version__)"') do iscc /DAppVersion=%v packaging\windows\octguard.iss
;    ->  dist\octguard-VERSION-setup.exe

#define AppName "OCTGuard"
#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=VERSION, VERSION from python -c "import core; print(core.__version__)"
#endif
#define Root "..\.."

[Setup]
AppId={{6B1E7C4E-2F0B-4C55-9C1D-0C7A3D2E9F11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=OCTGuard team
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
OutputDir={#Root}\dist
OutputBaseFilename=octguard-{#AppVersion}-setup
SetupIconFile={#Root}\resources\octguard.ico
UninstallDisplayIcon={app}\OCTGuard.exe
Compression=lzma2/normal
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; per-machine by default; the dialog lets a user without admin rights install for themselves
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
DisableProgramGroupPage=yes

[Files]
Source: "{#Root}\dist\OCTGuard\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\OCTGuard.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\OCTGuard.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
; self-test after install; only meaningful when the build bundles models\default
Filename: "{app}\octguard-cli.exe"; Parameters: "--smoke"; Flags: runhidden waituntilterminated; StatusMsg: "Checking the installation..."; Check: HasModel
Filename: "{app}\OCTGuard.exe"; Description: "Start OCTGuard"; Flags: nowait postinstall skipifsilent

[Code]
function HasModel: Boolean;
begin
  Result := DirExists(ExpandConstant('{app}\_internal\models\default'));
end;
