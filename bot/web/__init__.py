"""The bot's own small web app (aiohttp): signed file links for channels without files."""
