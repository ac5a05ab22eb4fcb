from vidsafe.cli import app

app()
